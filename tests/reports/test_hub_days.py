"""The hub's own calendar, read as a table of days: a British Summer Time evening and the hour
after midnight (00:00-01:00 BST is still the previous day in UTC), and both clock changes.

Europe/London: BST (UTC+1) from 01:00 UTC on Sun 29 Mar 2026 to 01:00 UTC on Sun 25 Oct 2026."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.reports.conftest import daily_row, local, run_timeline


def test_a_ready_date_of_today_is_accepted_in_the_hour_after_midnight_in_summer(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    clock.now = local("2026-06-15 21:00")
    journey = refer_someone(hub, 1, admitted_on="2026-06-15")
    # 00:30 BST on Tue 16 June is 23:30 UTC on Mon 15 June: "today" is 16 June at the hub.
    clock.now = local("2026-06-16 00:30")
    card = hub.set_ready_date(journey, "2026-06-16").card
    assert card.discharge_ready_date is not None
    assert card.discharge_ready_date.isoformat() == "2026-06-16"
    # A referral admitted "today" at 00:45 BST is not in the future either.
    clock.now = local("2026-06-16 00:45")
    refer_someone(hub, 2, admitted_on="2026-06-16", discharge_ready_date="2026-06-16")


def test_at_half_past_midnight_in_summer_alerts_dashboard_and_stuck_agree_on_the_london_day(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    run_timeline(clock, [
        # S: ready Mon 15 June, awaiting P1 since Mon 15 June 23:50 BST (a fresh column time,
        #    so only the days since ready can raise the level).
        ("2026-06-15 10:00", lambda: ids.setdefault("S", refer_someone(
            hub, 1, admitted_on="2026-06-14", discharge_ready_date="2026-06-15"))),
        ("2026-06-15 23:40", lambda: hub.move(ids["S"], "triage")),
        ("2026-06-15 23:50", lambda: hub.move(ids["S"], "await_p1")),
    ])  # fmt: skip
    # At 00:30 BST on 16 June: 16 - 15 = 1 day since ready, amber (after 1 day). By the UTC
    # date (still 15 June) it would be 0 days, ok, and missing from alerts.
    clock.now = local("2026-06-16 00:30")
    alerts = hub.alerts.list()
    assert [(a.card.journey_id, a.level.label, a.days_ready) for a in alerts] == [
        (ids["S"], "amber", 1)
    ]
    assert alerts[0].reasons == ("1 days since discharge-ready (amber after 1)",)
    card = hub.store.card(ids["S"])
    assert hub.stuck(card).level.label == "amber"
    operational = hub.reports.operational()
    assert operational.stuck == (1, 0)
    assert [(w.journey_id, w.days_ready) for w in operational.oldest] == [(ids["S"], 1)]


def test_a_summer_evening_and_the_hour_after_midnight_count_on_their_own_local_days(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    run_timeline(clock, [
        # E: ready 15 June, home at 23:30 BST on Tue 16 June (22:30 UTC, also 16 June)
        ("2026-06-15 10:00", lambda: ids.setdefault("E", refer_someone(
            hub, 1, admitted_on="2026-06-12", discharge_ready_date="2026-06-15", pathway="P0"))),
        ("2026-06-15 10:10", lambda: hub.move(ids["E"], "triage")),
        ("2026-06-15 10:20", lambda: hub.move(ids["E"], "await_p0")),
        # N: ready 15 June, home at 00:30 BST on Wed 17 June (23:30 UTC on 16 June)
        ("2026-06-15 11:00", lambda: ids.setdefault("N", refer_someone(
            hub, 2, admitted_on="2026-06-12", discharge_ready_date="2026-06-15", pathway="P0"))),
        ("2026-06-15 11:10", lambda: hub.move(ids["N"], "triage")),
        ("2026-06-15 11:20", lambda: hub.move(ids["N"], "await_p0")),
        ("2026-06-16 23:30", lambda: hub.close_journey(ids["E"], "home_independent",
                                                        destination="P0_HOME")),
        ("2026-06-17 00:30", lambda: hub.close_journey(ids["N"], "home_independent",
                                                        destination="P0_HOME")),
    ])  # fmt: skip
    clock.now = local("2026-06-20 12:00")
    #   day       P0: a b c
    #   16 June       2 1 1   (E home in the evening; N still on the ward at midnight)
    #   17 June       1 1 0   (N home at 00:30 BST, a 17 June discharge though 16 June in UTC)
    assert daily_row(hub, "2026-06-16", "P0") == (2, 1, 1)
    assert daily_row(hub, "2026-06-17", "P0") == (1, 1, 0)
    # Lengths of stay, admitted 12 June: E 16 - 12 = 4 days, N 17 - 12 = 5 days; waits 1 and 2.
    row = hub.reports.los("2026-06-16", "2026-06-17").table("los_pathways").row("P0")
    assert row[1:] == (2, 4, 5, 5, 1, 2, 2)


def test_both_clock_changes_keep_discharges_on_their_local_days(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    ids: dict[str, str] = {}
    steps: list[tuple[str, Callable[[], object]]] = []
    # Six P0 people, each admitted two days before, ready the day before, home at:
    homes = [
        "2026-03-28 23:30",  # GMT: Sat 28 Mar
        "2026-03-29 00:30",  # GMT, before the change at 01:00: Sun 29 Mar
        "2026-03-30 00:30",  # BST (23:30 UTC on 29 Mar): Mon 30 Mar
        "2026-10-25 00:30",  # BST (23:30 UTC on 24 Oct): Sun 25 Oct
        "2026-10-25 23:30",  # GMT, after the change (25 Oct has 25 hours): Sun 25 Oct
        "2026-10-26 00:30",  # GMT: Mon 26 Oct
    ]
    for serial, home in enumerate(homes, start=1):
        home_day = date.fromisoformat(home[:10])
        key = str(serial)
        refer_at = f"{home_day - timedelta(days=1)} 12:00"
        steps += [
            (refer_at, lambda k=key, s=serial, d=home_day: ids.setdefault(k, refer_someone(
                hub, s, admitted_on=str(d - timedelta(days=2)),
                discharge_ready_date=str(d - timedelta(days=1)), pathway="P0"))),
            (refer_at.replace("12:00", "12:10"), lambda k=key: hub.move(ids[k], "triage")),
            (refer_at.replace("12:00", "12:20"), lambda k=key: hub.move(ids[k], "await_p0")),
            (home, lambda k=key: hub.close_journey(ids[k], "home_independent",
                                                   destination="P0_HOME")),
        ]  # fmt: skip
    steps.sort(key=lambda step: local(step[0]))
    run_timeline(clock, steps)
    clock.now = local("2026-11-23 09:30")
    flow = hub.reports.flow("2026-03-28", "2026-03-30").table("flow")
    # 28 Mar: person 1; 29 Mar: person 2; 30 Mar: person 3.
    assert flow.column("Discharges P0") == [1, 1, 1]
    autumn = hub.reports.flow("2026-10-24", "2026-10-26").table("flow")
    # 24 Oct: nobody (person 4 left at 00:30 BST on 25 Oct); 25 Oct: persons 4 and 5; 26 Oct: 6.
    assert autumn.column("Discharges P0") == [0, 2, 1]
    # Every stay is 2 days and every wait 1 day, whatever the clocks did.
    row = hub.reports.los("2026-03-28", "2026-10-26").table("los_pathways").row("P0")
    assert row[1:] == (6, 2, 2, 2, 1, 1, 1)
