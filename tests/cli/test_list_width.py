"""`d2a list` on an 80-column thin client keeps the names whole and drops the least useful
columns instead; piped, it prints every column with each journey on one line."""

from __future__ import annotations

import io

from rich.console import Console

from d2a_tui.cli.journeys import LIST_HEADINGS, print_list_table
from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from tests.conftest import FrozenClock, refer_someone

NAMES = ("Margaret Featherstonehaugh", "Oluwaseun Adebayo-Okonkwo", "Ann Smith")


def _hub(sqlite_url: str, clock: FrozenClock) -> Hub:
    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("alice", "a"), clock)
    for serial, name in enumerate(NAMES, start=1):
        journey = refer_someone(
            hub, serial, name=name, ward="Stroke Unit", bed=f"B{serial}", pathway="P1",
            discharge_ready_date="2026-11-20",
        )  # fmt: skip
        hub.move(journey, "triage")
        hub.move(journey, "await_p1")
        hub.set_delay(journey, "P1CARE")
    clock.advance(days=2)
    return hub


def _render(hub: Hub, width: int, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    print_list_table(hub, hub.list_cards(), console)
    return out.getvalue()


def _headings(text: str) -> list[str]:
    header = next(line for line in text.splitlines() if "name" in line)
    return [cell.strip() for cell in header.strip("┃│ ").split("┃")]


def test_list_at_80_columns_keeps_whole_names_and_drops_the_least_useful(
    sqlite_url: str, clock: FrozenClock
) -> None:
    hub = _hub(sqlite_url, clock)
    text = _render(hub, 80, terminal=True)
    try:
        assert all(len(line) <= 80 for line in text.splitlines())
        for name in NAMES:
            assert name in text  # on one line, not wrapped
        shown = _headings(text)
        assert "name" in shown and "stuck" in shown and "id" in shown
        # Widest cells + 3 each, + 1: id 8, column 11, path 4, NHS 12, name 26, ward/bed 14,
        # in column 9, ready 5, delay 6, stuck 5 → 131 cells. Dropping path (124), ward/bed
        # (107), delay (98), NHS no. (83) and ready (75) brings it within 80.
        assert shown == ["id", "column", "name", "in column", "stuck"]
    finally:
        hub.close()


def test_list_on_a_wide_terminal_and_piped_shows_every_column(
    sqlite_url: str, clock: FrozenClock
) -> None:
    hub = _hub(sqlite_url, clock)
    try:
        assert _headings(_render(hub, 200, terminal=True)) == list(LIST_HEADINGS)
        piped = _render(hub, 80, terminal=False)
        assert _headings(piped) == list(LIST_HEADINGS)
        rows = [line for line in piped.splitlines() if "Awaiting P1" in line]
        assert len(rows) == len(NAMES)  # one line per journey, nothing wrapped
    finally:
        hub.close()
