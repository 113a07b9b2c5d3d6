"""An event recorded late (a night team's change synced the next morning) counts on the day it
happened, in a report read before it arrived as well as after: the summaries already folded for
that day take the change, and a rebuild from the log agrees."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.reports.conftest import Scenario


def daily(scenario: Scenario, day: str, pathway: str) -> tuple[int, ...]:
    return tuple(scenario.hub.reports.sitrep(day).table("daily").row(pathway)[1:])


def test_a_discharge_recorded_late_counts_on_the_day_it_happened(scenario: Scenario) -> None:
    hub, clock, ids = scenario.hub, scenario.clock, scenario.ids
    # Read first, so every event so far is folded and 20 Nov's figures are stored.
    assert daily(scenario, "2026-11-20", "P2") == (1, 0, 1)  # B still waiting for a P2 bed
    assert daily(scenario, "2026-11-23", "P2") == (1, 0, 1)
    today = clock.now
    clock.now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # B left on 20 Nov …
    hub.move(ids["B"], "in_p2")
    clock.now = today  # … and it reaches the log only now
    assert daily(scenario, "2026-11-19", "P2") == (1, 0, 1)
    assert daily(scenario, "2026-11-20", "P2") == (1, 1, 0)
    assert daily(scenario, "2026-11-23", "P2") == (0, 0, 0)
    flow = hub.reports.flow("2026-11-19", "2026-11-21").table("flow")
    assert flow.column("Discharges P2") == [0, 1, 0]
    assert flow.column("NCTR P2") == [1, 0, 0]
    folded = [hub.reports.flow("2026-11-10", "2026-11-23").to_dict()]
    hub.reports.rebuild()
    assert [hub.reports.flow("2026-11-10", "2026-11-23").to_dict()] == folded
