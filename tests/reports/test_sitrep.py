"""The sitrep against figures worked out by hand from the scenario in conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.reports.sitrep import DISCHARGED, NCTR, REMAINING
from tests.reports.conftest import Scenario


def daily(report, pathway: str) -> tuple[int, int, int]:
    table = report.table("daily")
    row = table.row(pathway)
    return (row[table.columns.index(NCTR)], row[table.columns.index(DISCHARGED)],
            row[table.columns.index(REMAINING)])  # fmt: skip


def test_daily_sitrep_as_at_a_past_day_when_one_person_met_the_criteria_again(
    scenario: Scenario,
) -> None:
    report = scenario.hub.reports.sitrep("2026-11-12")
    # End of 12 Nov: A met the criteria to reside again that morning (not counted); C, ready
    # 11 Nov, went home that afternoon (discharged); B (ready 5 Nov) and E (ready 9 Nov) remain
    # awaiting P2.
    assert daily(report, "P0") == (1, 1, 0)
    assert daily(report, "P1") == (0, 0, 0)
    assert daily(report, "P2") == (2, 0, 2)
    assert daily(report, "P3") == (0, 0, 0)
    assert daily(report, "Total") == (3, 1, 2)


def test_daily_sitrep_after_the_discharge_ready_clock_restarts(scenario: Scenario) -> None:
    report = scenario.hub.reports.sitrep(date(2026, 11, 16))
    # End of 16 Nov: A is ready again from 15 Nov (P1), B still waits (P2), D became ready on
    # 16 Nov (P3). E left for a P2 bed on 13 Nov, C went home on 12 Nov.
    assert daily(report, "P1") == (1, 0, 1)
    assert daily(report, "P2") == (1, 0, 1)
    assert daily(report, "P3") == (1, 0, 1)
    assert daily(report, "Total") == (3, 0, 3)


def test_daily_sitrep_for_today(scenario: Scenario) -> None:
    report = scenario.hub.reports.sitrep()  # today: 23 Nov, 09:30
    # D (ready 16 Nov) went to a care home at 09:00; B remains; A went home on P1 on 20 Nov.
    assert daily(report, "P1") == (0, 0, 0)
    assert daily(report, "P2") == (1, 0, 1)
    assert daily(report, "P3") == (1, 1, 0)
    assert daily(report, "Total") == (2, 1, 1)


def test_weekly_snapshot_cohorts_and_bed_days(scenario: Scenario) -> None:
    hub = scenario.hub
    cohorts = hub.reports.sitrep("2026-11-12", week=True).table("weekly_cohorts")
    # 12 Nov: B has LoS 18 (since 25 Oct) and is 7 days past ready (5 Nov); E's LoS is only 5.
    assert cohorts.rows == (("7+ days", 1, 7), ("14+ days", 1, 7), ("21+ days", 0, 0))

    cohorts = hub.reports.sitrep("2026-11-16", week=True).table("weekly_cohorts")
    # 16 Nov: A LoS 15 (since 1 Nov), ready since 15 Nov (the restarted clock): 1 day;
    # B LoS 22, 11 days; D LoS 4 (not in a cohort).
    assert cohorts.rows == (("7+ days", 2, 12), ("14+ days", 2, 12), ("21+ days", 1, 11))

    cohorts = hub.reports.sitrep(week=True).table("weekly_cohorts")
    # Today: only B, LoS 29, 18 days past ready.
    assert cohorts.rows == (("7+ days", 1, 18), ("14+ days", 1, 18), ("21+ days", 1, 18))


def test_weekly_los_14_by_delay_reason(scenario: Scenario) -> None:
    reasons = scenario.hub.reports.sitrep("2026-11-16", week=True).table("weekly_reasons")
    as_dict = dict(reasons.rows)
    assert (
        as_dict[
            "Pathway 1: awaiting availability of resource for assessment and start of care at home"
        ]
        == 1
    )
    assert (
        as_dict[
            "Pathway 2: awaiting availability of rehabilitation bed in community hospital or other bedded setting"
        ]
        == 1
    )
    assert (
        as_dict[
            "Pathway 3: awaiting availability of a bed in a residential or nursing home likely to be permanent"
        ]
        == 0
    )
    assert as_dict["Total"] == 2
    # The 18 acute reasons are always listed, in the sitrep's order.
    assert reasons.rows[0][0].startswith("Awaiting a medical decision")
    assert len([r for r in reasons.rows if r[0] not in ("Total", "No delay reason recorded")]) == 18


def test_monthly_destinations_count_discharges_by_the_day_they_happened(
    scenario: Scenario,
) -> None:
    monthly = scenario.hub.reports.sitrep(week=False, month=True).table("monthly")
    by_text = {(row[0], row[1]): row[2] for row in monthly.rows}
    # 1-23 Nov: C home (P0), E to a rehab bed (destination recorded at its close on 22 Nov, counted
    # on 13 Nov), A home on P1 (destination not recorded yet), D to a care home.
    assert by_text[("P0", "Domestic home, without reablement")] == 1
    assert by_text[("P2", "Community rehab setting")] == 1
    assert by_text[("P1", "Destination not yet recorded")] == 1
    assert by_text[("P3", "Care home, new admission (likely permanent)")] == 1
    assert by_text[("Total", "")] == 4
    assert len([r for r in monthly.rows if r[1] and r[1] != "Destination not yet recorded"]) == 12

    earlier = scenario.hub.reports.sitrep("2026-11-12", month=True).table("monthly")
    assert {(r[0], r[1]): r[2] for r in earlier.rows}[("Total", "")] == 1


def test_sitrep_today_agrees_with_the_live_dashboard(scenario: Scenario) -> None:
    remaining = scenario.hub.reports.sitrep().table("daily")
    operational = scenario.hub.reports.operational()
    for pathway in ("P0", "P1", "P2", "P3"):
        assert remaining.row(pathway)[3] == operational.nctr.get(pathway, 0)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday-ish", "2026-11-24"])
def test_a_bad_or_future_date_is_one_clear_error(scenario: Scenario, bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"not a date|in the future"):
        scenario.hub.reports.sitrep(bad)


def test_an_unknown_locality_is_refused_with_the_known_ones(scenario: Scenario) -> None:
    with pytest.raises(InvalidInput, match="unknown locality"):
        scenario.hub.reports.sitrep(locality="Atlantis")
