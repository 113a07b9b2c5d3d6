"""A tiny app that shows one of the capacity/dashboard/alerts screens over a Hub on fixed data:
the hand-built scenario of tests/reports, two services with reports, a frozen clock, UTC."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable

from d2a_tui.app import D2AApp
from d2a_tui.config import Settings
from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock
from tests.reports.conftest import build


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class ScreenApp(D2AApp):
    """The app with one screen made from the Hub pushed over an empty one, as the board pushes
    them with `c`, `D` and `!` (the board itself is left out: these tests are about the screen).
    The theme is Textual's default, as these snapshots have always been taken in it."""

    def __init__(self, hub: Hub, make: Callable[[Hub], Screen[Any]], **settings: Any) -> None:
        values: dict[str, Any] = {"database_url": "", "user": hub.actor.user}
        super().__init__(
            hub,
            Settings(**{**values, "theme": "textual-dark", **settings}),
            poll_interval=3600,
            tick_interval=3600,
            background_sync=False,
        )
        self.make = make

    def get_default_screen(self) -> Screen[Any]:
        return Screen()

    def on_mount(self) -> None:  # D2AApp's on_mount runs too (Textual calls each class's)
        self.push_screen(self.make(self.hub))


async def settle(pilot: Pilot[Any]) -> None:
    """Let the screen's reads (they run in workers) finish and what they read show."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    # A DataTable sizes its columns to new rows on its own next idle moment, which on a busy
    # machine can come after the pauses above: a snapshot then caught the headers' widths.
    for _ in range(200):
        if not any(table._require_update_dimensions for table in pilot.app.screen.query(DataTable)):
            break
        await pilot.pause(0.01)
    # Then every table drawn afresh: a header drawn before the widths changed stayed as it was.
    for table in pilot.app.screen.query(DataTable):
        table.refresh(layout=True)
    await pilot.pause()


@pytest.fixture
def screen_hub(sqlite_url: str, clock: FrozenClock) -> Iterator[Hub]:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "dev-a"), clock)
    build(hub, clock)
    now = clock.now
    hub.capacity.add_service(
        "Meadowbank Intermediate Care Unit", kind="intermediate_care", pathway="P2",
        unit="beds", service_id="meadowbank",
    )  # fmt: skip
    hub.capacity.add_service(
        "Reablement Service", kind="reablement", pathway="P1", unit="hours",
        service_id="reablement",
    )  # fmt: skip
    clock.now = now - timedelta(days=2)  # a stale report: two days old
    hub.capacity.report("reablement", total=400, occupied=370)
    clock.now = now - timedelta(hours=2)
    hub.capacity.report("meadowbank", total=40, occupied=38, closed=1)
    clock.now = now
    yield hub
    hub.close()
