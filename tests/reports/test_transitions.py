"""Moves between columns, hand-worked from the scenario in conftest.py (November: GMT, local =
UTC), with the whole hours spent in the source column before each move (whole days beyond 48 h).

  A  Referred 09:00 -> Triage 10:00 (1 h) -> Awaiting P1 11:00 (1 h), 10 Nov;
     Awaiting P1 -> On P1 at home 20 Nov 14:00: 10 d 3 h = 243 h -> 240 h (whole days)
  B  Referred 09:10 -> Triage 10:10 (1 h) -> Awaiting P2 10:20 (0 h), 10 Nov
  E  Referred 09:20 -> Triage 10:15 (0 h) -> Awaiting P2 10:30 (0 h), 10 Nov;
     -> In P2 bed 13 Nov 10:10: 71 h 40 min -> 71 h -> 48 h; -> Closed 22 Nov 10:00:
     8 d 23 h 50 min = 215 h -> 192 h
  C  Referred 09:00 -> Triage 10:00 (1 h) -> Awaiting P0 11:00 (1 h), 11 Nov;
     -> Closed 12 Nov 15:00: 28 h
  D  Referred 09:00 -> Triage 10:00 (1 h) -> Awaiting P3 10:05 (0 h), 13 Nov;
     -> Closed 23 Nov 09:00: 9 d 22 h 55 min = 238 h -> 216 h
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from d2a_tui.reports.tables import to_csv, to_json
from tests.reports.conftest import Scenario


def test_the_moves_matrix_and_the_time_before_each_move(scenario: Scenario) -> None:
    report = scenario.hub.reports.transitions("2026-11-10", "2026-11-23")
    matrix = report.table("transitions")
    # Referred -> Triage: A, B, E, C, D = 5.
    assert matrix.row("Referred")[1:] == (0, 5, 0, 0, 0, 0, 0, 0, 0, 5)
    # Triage -> Awaiting P0 (C), P1 (A), P2 (B, E), P3 (D).
    assert matrix.row("Triage")[1:] == (0, 0, 1, 1, 2, 1, 0, 0, 0, 5)
    assert matrix.row("Awaiting P2")[1:] == (0, 0, 0, 0, 0, 0, 0, 1, 0, 1)
    assert matrix.row("In P2 bed")[-2:] == (1, 1)  # to Closed
    assert matrix.row("Total")[-1] == 15
    times = {(row[0], row[1]): row[2:] for row in report.table("transition_times").rows}
    # Referred -> Triage hours 0, 1, 1, 1, 1: median = 3rd = 1, p90 = ceil(4.5) = 5th = 1.
    assert times[("Referred", "Triage")] == (5, 1, 1)
    assert times[("Triage", "Awaiting P2")] == (2, 0, 0)
    assert times[("Awaiting P1", "On P1 at home")] == (1, 240, 240)
    assert times[("Awaiting P2", "In P2 bed")] == (1, 48, 48)
    assert times[("Awaiting P0", "Closed")] == (1, 28, 28)
    assert times[("Awaiting P3", "Closed")] == (1, 216, 216)
    assert times[("In P2 bed", "Closed")] == (1, 192, 192)
    # The same rows in CSV and JSON.
    as_json = json.loads(to_json(report))
    assert as_json["tables"][0]["rows"][0]["Triage"] == 5
    assert "Referred,0,5,0,0,0,0,0,0,0,5" in to_csv(report)


def test_moves_as_now_known_and_as_known_before_a_late_one(scenario: Scenario) -> None:
    hub, clock, ids = scenario.hub, scenario.clock, scenario.ids
    # B went into a P2 bed at 15:00 on 20 Nov; it reaches the log at 09:30 on 23 Nov.
    # B's time in Awaiting P2: 10 Nov 10:20 -> 20 Nov 15:00 = 10 d 4 h 40 min -> 240 h.
    # Awaiting P2 -> In P2 bed, as now known: E 48 h and B 240 h: median = 1st = 48,
    # p90 = ceil(1.8) = 2nd = 240. As known at noon on 20 Nov, before B's move: E only. (A
    # change made on this hub is recorded when it is made: the clock set back stands for the
    # device's clock; the sync scenarios show the receipt time apart from it.)
    today = clock.now
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    hub.move(ids["B"], "in_p2")
    clock.now = today
    rows = hub.reports.transitions("2026-11-10", "2026-11-23").table("transition_times").rows
    then = hub.reports.transitions(
        "2026-11-10", "2026-11-23", as_known_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    ).table("transition_times")
    assert ("Awaiting P2", "In P2 bed", 2, 48, 240) in rows
    assert ("Awaiting P2", "In P2 bed", 1, 48, 48) in then.rows
    # The dashboard's chart reads the same figures: the busiest move first.
    strategic = hub.reports.strategic(14)
    assert (strategic.transitions[0].source, strategic.transitions[0].count) == ("referred", 5)
    assert any(
        (t.source, t.target, t.count, t.p90_hours) == ("await_p2", "in_p2", 2, 240)
        for t in strategic.transitions
    )


async def test_the_reports_screen_shows_the_moves_matrix_on_t(scenario: Scenario) -> None:
    from textual.widgets import DataTable

    from d2a_tui.screens.dashboard import ReportScreen
    from tests.screens_reports.conftest import ScreenApp, settle

    app = ScreenApp(scenario.hub, lambda hub: ReportScreen(hub, days=14))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)  # the screen reads in a worker
        await pilot.press("t")
        await settle(pilot)
        grids = list(app.screen.query(DataTable))
        assert len(grids) == 2  # the matrix and the times
        first = grids[0].get_row_at(0)
        # Cells are literal Text (a column named by the flow file is data, not markup).
        assert (str(first[0]), str(first[2])) == ("Referred", "5")  # Referred -> Triage: 5 moves
