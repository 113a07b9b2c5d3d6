"""Fixtures for driving the app as a person does: a Hub on a real database, the app, helpers to
read what the board shows. Times are shown in local time, so the zone is pinned for stable output.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from d2a_tui.app import D2AApp
from d2a_tui.config import Settings
from d2a_tui.domain.flow import load_flow
from d2a_tui.screens.board import BoardScreen
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.widgets.card import CARD_HEIGHT
from tests.conftest import FROZEN_NOW, FrozenClock

# The sync tests' server fixture, for the screens a replica shows.
from tests.sync.conftest import sync_env_factory  # noqa: F401
from tests.tui.outage import lost_db  # noqa: F401

SEED_DAYS = 30


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def sqlite_hub(sqlite_url: str, clock: FrozenClock) -> Iterator[Hub]:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "device-a"), clock)
    yield hub
    hub.close()


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A locality's board seeded once per test process from a fixed seed and a frozen clock."""
    from d2a_tui.seed import seed_database

    path = tmp_path_factory.mktemp("seeded") / "locality.db"
    seed_database(
        f"sqlite:///{path}", profile="locality", days=SEED_DAYS, seed=2026, now=FROZEN_NOW
    )
    return path


@pytest.fixture
def seeded_hub(seeded_file: Path, tmp_path: Path) -> Iterator[Hub]:
    """A private copy of the seeded database (tests may write), on a frozen clock."""
    path = tmp_path / "seeded.db"
    shutil.copy(seeded_file, path)
    hub = Hub(
        JourneyStore(make_engine(f"sqlite:///{path}"), load_flow()),
        Actor("alice", "device-a"),
        FrozenClock(),
    )
    yield hub
    hub.close()


def make_app(
    hub: Hub,
    *,
    poll: float = 3600.0,
    tick: float = 3600.0,
    background_sync: bool = True,
    **settings: object,
) -> D2AApp:
    """The app as `d2a board` builds it; polling and the clocks' tick are slow unless a test is
    about them."""
    values: dict[str, object] = {"database_url": "", "user": hub.actor.user, **settings}
    return D2AApp(
        hub,
        Settings(**values),  # type: ignore[arg-type]
        poll_interval=poll,
        tick_interval=tick,
        background_sync=background_sync,
    )


def board_of(app: D2AApp) -> BoardScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, BoardScreen)
    return screen


def column_text(app: D2AApp, column_id: str) -> str:
    """What the column's body draws in view right now, line by line, as plain text."""
    board = board_of(app)
    column = next(c for c in board.columns if c.column.id == column_id)
    body = column.body
    return "\n".join(body.render_line(y).text for y in range(body.size.height))


def shown_ids(app: D2AApp, column_id: str) -> list[str]:
    board = board_of(app)
    assert board.model is not None
    return list(board.model.order[column_id])


def selected_row_text(app: D2AApp) -> str:
    board = board_of(app)
    body = board.active_column.body
    assert body.cursor is not None
    y = body.cursor * CARD_HEIGHT - int(body.scroll_offset.y)
    return body.render_line(y).text


async def wait_for(pilot: object, condition: Callable[[], bool], seconds: float = 4.0) -> bool:
    """Let the app run (no key pressed) until `condition` holds or time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return condition()


def header_text(app: D2AApp, column_id: str) -> str:
    """A column's header as drawn, as plain text."""
    board = board_of(app)
    header = next(c for c in board.columns if c.column.id == column_id).header
    return "\n".join(strip.text for strip in header.render_lines(header.size.region))


async def settle(pilot: object) -> None:
    """Let the screens' reads (they run in workers) finish and what they read show."""
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.app.workers.wait_for_complete()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def settle_for_snapshot(pilot: Any) -> None:
    """`settle`, then until the screen stops changing: the moment a snapshot is taken.

    Under a loaded machine a snapshot caught a screen part-way (a table sized to its headers, a
    column not yet filled by its worker's answer). Waiting for two identical frames in a row,
    with the tables' own pending resizes done, is what a person looking at the screen sees."""
    await settle(pilot)
    app = pilot.app
    for _ in range(200):
        if not any(table._require_update_dimensions for table in app.screen.query(DataTable)):
            break
        await pilot.pause(0.01)
    for table in app.screen.query(DataTable):
        table.refresh(layout=True)
    await pilot.pause()
    before = app.export_screenshot()
    for _ in range(50):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        now = app.export_screenshot()
        if now == before:
            return
        before = now


def record_notifications(app: D2AApp) -> list[str]:
    """Every message the app shows from now on, kept (toasts expire, and a busy machine may be
    slower than their timeout)."""
    messages: list[str] = []
    shown = app.notify

    def notify(message: str, *args: object, **kwargs: object) -> None:
        messages.append(str(message))
        shown(message, *args, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    return messages
