"""Services, capacity reports (history, stale flags, bad input losing nothing), demand and gap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from d2a_tui.domain.errors import InvalidInput, NotAllowed, NotFound
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone


def add_p2_unit(hub: Hub, service_id: str = "meadowbank", total_beds: int = 10) -> None:
    hub.capacity.add_service(
        "Meadowbank Intermediate Care Unit", kind="intermediate_care", pathway="P2",
        unit="beds", service_id=service_id,
    )  # fmt: skip


def test_reports_are_kept_as_history_and_the_latest_counts(hub: Hub, clock: FrozenClock) -> None:
    add_p2_unit(hub)
    hub.capacity.report("meadowbank", total=40, occupied=38, closed=1)
    clock.advance(hours=3)
    hub.capacity.report("meadow", total=40, occupied=35)  # an unambiguous start of the id
    history = hub.capacity.history("meadowbank")
    assert [(r.total, r.occupied, r.closed) for r in history] == [(40, 35, 0), (40, 38, 1)]
    assert all(r.reported_by == "alice" for r in history)
    (status,) = hub.capacity.statuses()
    assert (status.latest.vacant, status.latest.available, status.places) == (5, 5, 5)
    assert status.age == timedelta(0)
    assert not status.stale


def test_a_report_older_than_a_day_is_stale_and_no_report_is_stale(
    hub: Hub, clock: FrozenClock
) -> None:
    add_p2_unit(hub)
    hub.capacity.add_service("Elm Lodge", kind="care_home", pathway="P3", unit="beds")
    hub.capacity.report("meadowbank", total=40, occupied=38)
    clock.advance(hours=23)
    by_id = {s.service.id: s for s in hub.capacity.statuses()}
    assert not by_id["meadowbank"].stale
    assert by_id["elm-lodge"].stale and by_id["elm-lodge"].latest is None
    clock.advance(hours=2)
    assert {s.service.id: s.stale for s in hub.capacity.statuses()}["meadowbank"] is True


def test_quick_vacancy_update_keeps_the_total_and_closed_beds(hub: Hub) -> None:
    add_p2_unit(hub)
    hub.capacity.report("meadowbank", total=40, occupied=38, closed=1)
    report = hub.capacity.update_vacancies("meadowbank", 5)
    assert (report.total, report.occupied, report.closed, report.available) == (40, 35, 1, 4)
    report = hub.capacity.update_vacancies("meadowbank", 0)
    assert (report.occupied, report.closed) == (40, 0)  # no vacancy left to be closed


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        ({"total": -1, "occupied": 0}, "cannot be negative"),
        ({"total": 10, "occupied": -2}, "cannot be negative"),
        ({"total": 10, "occupied": 11}, r"occupied \(11\) cannot be more than the total \(10\)"),
        ({"total": 10, "occupied": 8, "closed": 3}, "closed vacancies"),
    ],
)
def test_bad_figures_are_refused_and_lose_nothing(
    hub: Hub, figures: dict[str, int], message: str
) -> None:
    add_p2_unit(hub)
    hub.capacity.report("meadowbank", total=40, occupied=38)
    with pytest.raises(InvalidInput, match=message):
        hub.capacity.report("meadowbank", **figures)
    assert [(r.total, r.occupied) for r in hub.capacity.history("meadowbank")] == [(40, 38)]


def test_unknown_service_and_bad_vacancies_are_clear_errors(hub: Hub) -> None:
    add_p2_unit(hub)
    with pytest.raises(NotFound, match="no service 'oakfield'; services: meadowbank"):
        hub.capacity.report("oakfield", total=1, occupied=0)
    with pytest.raises(NotAllowed, match="no capacity report yet"):
        hub.capacity.update_vacancies("meadowbank", 3)
    hub.capacity.report("meadowbank", total=10, occupied=9)
    with pytest.raises(InvalidInput, match="more than the total"):
        hub.capacity.update_vacancies("meadowbank", 11)
    with pytest.raises(InvalidInput, match="negative"):
        hub.capacity.update_vacancies("meadowbank", -1)
    assert len(hub.capacity.history("meadowbank")) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "spa", "pathway": "P2", "unit": "beds"}, "kind must be one of"),
        ({"kind": "care_home", "pathway": "P0", "unit": "beds"}, "pathway must be one of P1, P2, P3"),
        ({"kind": "care_home", "pathway": "P3", "unit": "rooms"}, "unit must be one of"),
        ({"kind": "care_home", "pathway": "P3", "unit": "beds", "organisation_id": "nobody"},
         "unknown organisation 'nobody'"),
    ],
)  # fmt: skip
def test_bad_services_are_refused(hub: Hub, fields: dict[str, str], message: str) -> None:
    with pytest.raises((InvalidInput, NotFound), match=message):
        hub.capacity.add_service("Elm Lodge", **fields)
    assert hub.capacity.services() == []


def test_a_service_id_cannot_be_taken_twice(hub: Hub) -> None:
    add_p2_unit(hub)
    with pytest.raises(NotAllowed, match="already a service 'meadowbank'"):
        add_p2_unit(hub)


def _await_p2(hub: Hub, serial: int) -> str:
    journey = refer_someone(hub, serial, discharge_ready_date="2026-11-15")
    hub.move(journey, "triage")
    hub.move(journey, "await_p2")
    return journey


def test_demand_gap_and_its_trend(hub: Hub, clock: FrozenClock) -> None:
    add_p2_unit(hub)
    hub.capacity.add_service(
        "Reablement", kind="reablement", pathway="P1", unit="hours", service_id="reablement"
    )
    today = clock.now
    # One person starts awaiting P2 on each of 20, 21 and 22 Nov, and one more today.
    for serial, days_ago in ((1, 3), (2, 2), (3, 1), (4, 0)):
        clock.now = today - timedelta(days=days_ago, hours=1)
        _await_p2(hub, serial)
    clock.now = today.replace(hour=8, minute=0) - timedelta(days=2)  # 21 Nov 08:00
    hub.capacity.report("meadowbank", total=10, occupied=9)
    clock.now = today.replace(hour=8, minute=0)  # 23 Nov 08:00
    hub.capacity.report("meadowbank", total=10, occupied=8)
    hub.capacity.report("reablement", total=100, occupied=55)  # 45 hours = 4 places of 10 h
    clock.now = today

    gaps = hub.capacity.gap_by_pathway()
    p2 = gaps["P2"]
    # 4 awaiting now; 3 arrived in the 7 full days before today: 3/7 = 0.4 a day; 2 beds free.
    assert (p2.awaiting, p2.arriving_per_day, p2.available, p2.gap) == (4, 0.4, 2, -2)
    assert (gaps["P1"].available, gaps["P1"].gap) == (4, 4)
    assert gaps["P3"].available is None and gaps["P3"].gap is None

    trend = hub.capacity.trend(5)["P2"]
    assert [d.day.day for d in trend] == [19, 20, 21, 22, 23]
    assert [d.awaiting for d in trend] == [0, 1, 2, 3, 4]
    assert [d.available for d in trend] == [None, None, 1, 1, 2]
    assert [d.gap for d in trend] == [None, None, -1, -2, -2]
