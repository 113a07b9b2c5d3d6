"""`d2a report offers`, worked by hand, on SQLite and PostgreSQL: hours from offer to answer and
days from the discharge-ready date to the start, per service and pathway, declines by reason,
and the same figures as they were known at midday.

The day (Monday 23 November 2026, GMT, so hub time is UTC):
  09:30  offer A: person 1 (ready 20 Nov) to Reablement North
  10:00  offer B: person 2 (ready 21 Nov) to Reablement North
  11:30  A accepted, start 25 Nov   -> 2.0 h to answer; 25 - 20 = 5 days ready to start
  13:00  B declined, no capacity    -> 3.0 h to answer
  13:00  offer C: person 3 (ready 22 Nov) to Home Care South
  14:00  C accepted, start 24 Nov   -> 1.0 h; 24 - 22 = 2 days
  14:00  offer D: person 2 to Home Care South, still waiting
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from d2a_tui.cli import main
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.reports.offers import offers_report
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.offers.conftest import two_providers


def the_day(hub: Hub, clock: FrozenClock) -> None:
    two_providers(hub)
    people = []
    for serial, ready in ((1, "2026-11-20"), (2, "2026-11-21"), (3, "2026-11-22")):
        journey_id = refer_someone(hub, serial, discharge_ready_date=ready)
        hub.move(journey_id, "triage")
        hub.move(journey_id, "await_p1")
        people.append(journey_id)
    one, two, three = people
    a = hub.offers.make(one, "reablement-north").event.event_id  # 09:30
    clock.advance(minutes=30)
    b = hub.offers.make(two, "reablement-north").event.event_id  # 10:00
    clock.advance(minutes=90)
    hub.offers.accept(a, date(2026, 11, 25))  # 11:30
    clock.advance(minutes=90)
    hub.offers.decline(b, "no_capacity")  # 13:00
    c = hub.offers.make(three, "home-care-south").event.event_id
    clock.advance(hours=1)
    hub.offers.accept(c, date(2026, 11, 24))  # 14:00
    hub.offers.make(two, "home-care-south")


COLUMNS = ("Offers", "Accepted", "Declined", "Withdrawn", "Lapsed", "Waiting",
           "Median hours to answer", "Median days ready to start")  # fmt: skip


def test_the_offers_report_as_now_known(hub: Hub, clock: FrozenClock) -> None:
    the_day(hub, clock)
    report = offers_report(hub.reports, "2026-11-23", "2026-11-23")
    services = report.table("offers_by_service")
    # Home Care South: C accepted (1.0 h, 2 days), D waiting.
    assert services.row("Home Care South") == ("Home Care South", "P1", 2, 1, 0, 0, 0, 1, 1.0, 2.0)
    # Reablement North: A (2.0 h) and B (3.0 h): the nearest-rank median of two is the
    # ceil(0.5 * 2) = 1st smallest, 2.0 h (a real offer's time, never the 2.5 between); A's 5 days.
    assert services.row("Reablement North") == (
        "Reablement North",
        "P1",
        2,
        1,
        1,
        0,
        0,
        0,
        2.0,
        5.0,
    )
    # P1 together: hours 1, 2, 3 -> the 2nd smallest, 2.0; days 2 and 5 -> the 1st, 2.0.
    assert report.table("offers_by_pathway").row("P1") == ("P1", 4, 2, 1, 0, 0, 1, 2.0, 2.0)
    declines = dict(report.table("declines").rows)
    assert declines == {"No capacity": 1, "Cannot meet needs": 0, "Out of area": 0, "Other": 0}


def test_the_offers_report_as_known_at_midday(hub: Hub, clock: FrozenClock) -> None:
    the_day(hub, clock)
    report = offers_report(hub.reports, "2026-11-23", "2026-11-23", as_known_at="2026-11-23T12:00")
    # By 12:00 only A (accepted at 11:30) and B (declined later: still waiting) were known.
    (row,) = report.table("offers_by_service").rows
    assert row == ("Reablement North", "P1", 2, 1, 0, 0, 0, 1, 2.0, 5.0)
    assert dict(report.table("declines").rows)["No capacity"] == 0


def test_the_cli_prints_the_report_as_json_and_refuses_a_sitrep_option(
    hub: Hub, clock: FrozenClock, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    the_day(hub, clock)
    code = main(["report", "offers", "--db", database_url, "--from", "2026-11-23",
                 "--to", "2026-11-23", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    tables = {t["id"]: t for t in json.loads(out)["tables"]}
    assert tables["offers_by_pathway"]["rows"][0]["Median hours to answer"] == 2.0
    code = main(["report", "offers", "--db", database_url, "--date", "2026-11-23"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("d2a: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("zone", "accepted", "declined"),
    [
        # London (GMT in November): the whole day counts: A and C accepted, B declined.
        ("Europe/London", 2, {"no_capacity": 1}),
        # UTC+12: at 14:00 UTC it is 02:00 on the 24th there; its day began at 12:00 UTC, so
        # A's acceptance at 11:30 UTC was yesterday: only C is accepted today, B declined at 13:00.
        ("Etc/GMT-12", 1, {"no_capacity": 1}),
    ],
)
def test_todays_offer_figures_count_the_hubs_day(
    make_hub: Callable[..., Hub], clock: FrozenClock, zone: str, accepted: int,
    declined: dict[str, int],
) -> None:  # fmt: skip
    hub = make_hub()
    hub.calendar = HubCalendar(zone)
    the_day(hub, clock)
    today = hub.offers.today()
    # D, made at 14:00, is the one waiting, not yet amber.
    assert (today.waiting, today.amber, today.red) == (1, 0, 0)
    assert (today.accepted_today, today.declined_today) == (accepted, declined)
    clock.advance(hours=4, minutes=1)  # 18:01: D has waited past the red clock
    assert (hub.offers.today().waiting, hub.offers.today().red) == (1, 1)


def test_an_offer_whose_journey_closed_unanswered_lapsed_not_waiting(
    hub: Hub, clock: FrozenClock
) -> None:
    the_day(hub, clock)
    # 15:00 person 2 dies on the ward: D (to Home Care South) was never answered.
    clock.advance(hours=1)
    person_two = next(c for c in hub.board() if c.name == "Test Person 2").journey_id
    hub.close_journey(person_two, "died")
    report = offers_report(hub.reports, "2026-11-23", "2026-11-23")
    # Home Care South: C accepted, D lapsed; nothing waiting (as on the dashboard).
    assert report.table("offers_by_service").row("Home Care South")[3:8] == (1, 0, 0, 1, 0)
    assert hub.offers.today().waiting == 0
    # As known at 14:30, before the close, D was still waiting.
    then = offers_report(hub.reports, "2026-11-23", "2026-11-23", as_known_at="2026-11-23T14:30")
    assert then.table("offers_by_service").row("Home Care South")[3:8] == (1, 0, 0, 0, 1)
