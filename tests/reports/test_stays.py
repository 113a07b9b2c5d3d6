"""Hand-worked stays, read as a table of days: a reopen after a mistaken close, a death in
hospital, and a person who meets the criteria to reside again. November: GMT, so local = UTC.

Each test lists its timeline (hub-local time) and the figures worked out from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from d2a_tui.reports.tables import Table
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.reports.conftest import daily_row, local, run_timeline


def unrecorded(monthly: Table, pathway: str) -> int:
    """The monthly sitrep's "Destination not yet recorded" count for a pathway."""
    found = [row[2] for row in monthly.rows if row[:2] == (pathway, "Destination not yet recorded")]
    return found[0] if found else 0


def test_a_reopen_into_hospital_resumes_the_stay_and_the_real_discharge_counts_once(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    same_moment: list[tuple[object, ...]] = []
    run_timeline(clock, [
        # R: admitted Thu 5 Nov, discharge-ready Mon 9 Nov, proposed P1
        ("2026-11-10 09:00", lambda: ids.setdefault("R", refer_someone(
            hub, 1, admitted_on="2026-11-05", discharge_ready_date="2026-11-09"))),
        ("2026-11-10 09:10", lambda: hub.move(ids["R"], "triage")),
        ("2026-11-10 09:20", lambda: hub.move(ids["R"], "await_p1")),
        # Thu 12 Nov: closed by mistake ("home", P1_HOME) — the person never left the ward
        ("2026-11-12 15:00", lambda: hub.close_journey(
            ids["R"], "home_independent", destination="P1_HOME")),
        # Fri 13 Nov: reopened into Awaiting P1 — the same stay, the same admission
        ("2026-11-13 10:00", lambda: hub.reopen(ids["R"], "await_p1")),
        # Sat 14 Nov, noon: the dashboard, the alerts and the sitrep read at the same moment
        ("2026-11-14 12:00", lambda: same_moment.append((
            hub.reports.operational().nctr.get("P1", 0),
            daily_row(hub, "2026-11-14", "P1")[2],
            [a.days_ready for a in hub.alerts.list() if a.card.journey_id == ids["R"]],
        ))),
        # Mon 16 Nov: the real discharge, home on P1 (destination not yet recorded)
        ("2026-11-16 11:00", lambda: hub.move(ids["R"], "on_p1")),
    ])  # fmt: skip
    # At noon on 14 Nov R is on the ward, NCTR for 14 - 9 = 5 days: the dashboard's NCTR now,
    # the sitrep's remaining and the alert agree.
    assert same_moment == [(1, 1, [5])]
    clock.now = local("2026-11-23 09:30")
    # Daily sitrep, P1 (a = b + c): R is NCTR and on the ward every day from 10 to 15 Nov,
    # the mistaken close included; discharged on 16 Nov; gone from 17 Nov.
    #   day      a  b  c
    #   12 Nov   1  0  1   (the close is undone in every figure)
    #   13 Nov   1  0  1
    #   16 Nov   1  1  0
    #   17 Nov   0  0  0
    assert daily_row(hub, "2026-11-12", "P1") == (1, 0, 1), "the mistaken close is no discharge"
    assert daily_row(hub, "2026-11-13", "P1") == (1, 0, 1), "back in hospital after the reopen"
    assert daily_row(hub, "2026-11-16", "P1") == (1, 1, 0), "the real discharge counts"
    assert daily_row(hub, "2026-11-17", "P1") == (0, 0, 0)
    report = hub.reports.sitrep("2026-11-14", week=True)
    # Weekly at the end of Sat 14 Nov: LoS 14 - 5 = 9 days, so in the 7+ cohort (from 12 Nov,
    # admission + 7) and not 14+; delayed days since ready 14 - 9 = 5.
    assert report.table("weekly_cohorts").row("7+ days")[1:] == (1, 5)
    assert report.table("weekly_cohorts").row("14+ days")[1:] == (0, 0)
    # Monthly to 23 Nov: one discharge (16 Nov, destination not yet recorded); the mistaken
    # P1_HOME is taken back.
    monthly = hub.reports.sitrep("2026-11-23", month=True).table("monthly")
    assert unrecorded(monthly, "P1") == 1
    assert monthly.row("Total")[2] == 1
    # Length of stay: one stay, 5 -> 16 Nov = 11 days; ready 9 Nov -> 16 Nov = 7 days.
    pathways = hub.reports.los("2026-11-10", "2026-11-23").table("los_pathways")
    assert pathways.row("P1")[1:] == (1, 11, 11, 11, 7, 7, 7)
    # Flow: NCTR P1 at the end of 12 and 13 Nov is 1; the only P1 discharge is on 16 Nov.
    flow = hub.reports.flow("2026-11-12", "2026-11-17").table("flow")
    assert flow.column("NCTR P1") == [1, 1, 1, 1, 0, 0]
    assert flow.column("Discharges P1") == [0, 0, 0, 0, 1, 0]
    # Demand: awaiting P1 at the end of 12 to 15 Nov, not on 16 Nov (the trend's input).
    summary = hub.reports.current_summary()
    awaiting = summary.level_series(
        "awaiting", date(2026, 11, 12), date(2026, 11, 16), locality=None
    )
    assert [values.get("P1", 0) for values in awaiting.values()] == [1, 1, 1, 1, 0]


def test_a_death_in_hospital_is_not_a_discharge_and_ends_the_nctr_span(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    run_timeline(clock, [
        # X: admitted 1 Nov, ready 8 Nov, awaiting a P2 bed; dies on the ward at 03:00 on 14 Nov
        ("2026-11-10 09:00", lambda: ids.setdefault("X", refer_someone(
            hub, 1, admitted_on="2026-11-01", discharge_ready_date="2026-11-08"))),
        ("2026-11-10 09:10", lambda: hub.move(ids["X"], "triage")),
        ("2026-11-10 09:20", lambda: hub.move(ids["X"], "await_p2")),
        # Y: admitted 6 Nov, ready 9 Nov, into a P2 bed on 14 Nov at 11:00
        ("2026-11-10 09:30", lambda: ids.setdefault("Y", refer_someone(
            hub, 2, admitted_on="2026-11-06", discharge_ready_date="2026-11-09"))),
        ("2026-11-10 09:40", lambda: hub.move(ids["Y"], "triage")),
        ("2026-11-10 09:50", lambda: hub.move(ids["Y"], "await_p2")),
        ("2026-11-14 03:00", lambda: hub.close_journey(ids["X"], "died")),
        ("2026-11-14 11:00", lambda: hub.move(ids["Y"], "in_p2")),
    ])  # fmt: skip
    clock.now = local("2026-11-23 09:30")
    #   day      P2: a  b  c    deaths in hospital
    #   13 Nov       2  0  2    0
    #   14 Nov       1  1  0    1   (X died: not in b, and no longer remaining in c)
    assert daily_row(hub, "2026-11-13", "P2") == (2, 0, 2)
    assert daily_row(hub, "2026-11-14", "P2") == (1, 1, 0), "a death is not a discharge"
    deaths = hub.reports.sitrep("2026-11-14").table("deaths")
    assert deaths.row("Died in hospital")[1:] == (1,)
    assert deaths.row("Of those, no longer meeting the criteria to reside")[1:] == (1,)
    monthly = hub.reports.sitrep("2026-11-23", month=True).table("monthly")
    assert unrecorded(monthly, "P2") == 1  # Y only
    assert monthly.row("Total")[2] == 1
    assert monthly.row("Died in hospital (not a discharge)")[2] == 1
    # LoS: Y's stay 6 -> 14 Nov = 8 days is a discharge; X's 1 -> 14 Nov = 13 days is its own row.
    stages = hub.reports.los("2026-11-10", "2026-11-23").table("los_stages")
    assert stages.row("Hospital (admission to discharge)")[1:] == (1, 8, 8, 8)
    assert stages.row("Hospital stays that ended in death")[1:] == (1, 13, 13, 13)
    flow = hub.reports.flow("2026-11-13", "2026-11-15").table("flow")
    assert flow.column("Discharges P2") == [0, 1, 0]
    assert flow.column("Deaths") == [0, 1, 0]


def test_meeting_the_criteria_to_reside_again_restarts_the_clock_even_within_a_day(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    run_timeline(clock, [
        # M: admitted 3 Nov; ready 11 Nov 09:00; meets the criteria again 11 Nov 15:00;
        #    ready again 12 Nov; home on P1 13 Nov.
        ("2026-11-10 09:00", lambda: ids.setdefault("M", refer_someone(hub, 1,
                                                                      admitted_on="2026-11-03"))),
        ("2026-11-10 09:10", lambda: hub.move(ids["M"], "triage")),
        ("2026-11-10 09:20", lambda: hub.move(ids["M"], "await_p1")),
        ("2026-11-11 09:00", lambda: hub.set_ready_date(ids["M"], "2026-11-11")),
        ("2026-11-11 15:00", lambda: hub.set_ready_date(ids["M"], None)),
        ("2026-11-12 10:00", lambda: hub.set_ready_date(ids["M"], "2026-11-12")),
        ("2026-11-13 11:00", lambda: hub.move(ids["M"], "on_p1")),
        # Q: admitted 3 Nov; ready 11 Nov 09:00, meets the criteria 11:00, ready again 16:00
        #    the same day: at the end of 11 Nov Q no longer meets them.
        ("2026-11-10 09:30", lambda: ids.setdefault("Q", refer_someone(hub, 2,
                                                                      admitted_on="2026-11-03"))),
        ("2026-11-10 09:40", lambda: hub.move(ids["Q"], "triage")),
        ("2026-11-10 09:50", lambda: hub.move(ids["Q"], "await_p2")),
        ("2026-11-11 09:05", lambda: hub.set_ready_date(ids["Q"], "2026-11-11")),
        ("2026-11-11 11:00", lambda: hub.set_ready_date(ids["Q"], None)),
        ("2026-11-11 16:00", lambda: hub.set_ready_date(ids["Q"], "2026-11-11")),
    ])  # fmt: skip
    clock.now = local("2026-11-23 09:30")
    #   day      P1: a b c    P2: a b c
    #   11 Nov       0 0 0        1 0 1   (M meets the criteria at the end of the day; Q not)
    #   12 Nov       1 0 1        1 0 1
    #   13 Nov       1 1 0        1 0 1
    assert daily_row(hub, "2026-11-11", "P1") == (0, 0, 0)
    assert daily_row(hub, "2026-11-11", "P2") == (1, 0, 1)
    assert daily_row(hub, "2026-11-12", "P1") == (1, 0, 1)
    assert daily_row(hub, "2026-11-13", "P1") == (1, 1, 0)
    # M's wait counts from the restarted clock: 13 - 12 = 1 day (not 13 - 11 = 2); LoS 13 - 3 = 10.
    pathways = hub.reports.los("2026-11-10", "2026-11-23").table("los_pathways")
    assert pathways.row("P1")[1:] == (1, 10, 10, 10, 1, 1, 1)
    # Q: delayed days at the end of 14 Nov since 11 Nov = 3; LoS 11 days, so 7+ but not 14+.
    weekly = hub.reports.sitrep("2026-11-14", week=True).table("weekly_cohorts")
    assert weekly.row("7+ days")[1:] == (1, 3)
