"""SVG snapshots of the offer picker (`o` on the board) and the provider board, wide and at 80×24.

Regenerate after an intended change with `--snapshot-update`, then read the SVGs before
committing them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from d2a_tui.domain.ids import uuid7
from d2a_tui.services.hub import Hub
from tests.offers.conftest import on_p1
from tests.tui.conftest import make_app, settle_for_snapshot
from tests.tui.test_offer_picker import with_vacancies
from tests.tui.test_provider_board import nora  # noqa: F401  (the provider's hub)


@pytest.fixture(autouse=True)
def _fixed_event_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offer ids are their events' ids: made from a fixed seed here, so the SVGs are stable."""
    rng = random.Random(2026)
    monkeypatch.setattr("d2a_tui.storage.journeys.uuid7", lambda: uuid7(1_795_000_000_000, rng))
    yield


async def _settle(pilot: Pilot[Any]) -> None:
    # The provider board fills from a worker and its offers' clocks from another: a snapshot
    # taken between them was seen in CI, so wait for the screen to stop changing.
    await settle_for_snapshot(pilot)


def _picker_app(hub: Hub) -> Any:
    with_vacancies(hub)
    on_p1(hub)
    return make_app(hub)


async def _open_picker(pilot: Pilot[Any]) -> None:
    await pilot.press("o")
    await pilot.pause()
    # A blinking cursor is on or off by the moment of the shot: hold it still.
    pilot.app.screen.query_one(Input).cursor_blink = False
    await pilot.pause()


def test_offer_picker(sqlite_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(_picker_app(sqlite_hub), run_before=_open_picker, terminal_size=(100, 30))


def test_offer_picker_at_80x24(sqlite_hub: Hub, snap_compare: Any) -> None:
    assert snap_compare(_picker_app(sqlite_hub), run_before=_open_picker, terminal_size=(80, 24))


def test_provider_board(nora: Hub, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(make_app(nora), run_before=_settle, terminal_size=(120, 30))


def test_provider_board_at_80x24(nora: Hub, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(make_app(nora), run_before=_settle, terminal_size=(80, 24))
