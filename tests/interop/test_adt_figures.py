"""The figures the ADT feed drives (issue 23 §3; the rules in DOMAIN.md, "Counting rules"), as
hand-worked scenarios: each test says in its comments what the figures must be and why.

November is GMT, so the hub's local times are UTC times. Each step runs at its own time on the
hub's frozen clock, through the hub's own commands and the feed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.desk import AdtDesk
from d2a_tui.interop.queue import exception_rows
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.interop.hl7_samples import adt
from tests.reports.conftest import daily_row

EDNA = "9434765919"


@pytest.fixture
def feed(hub: Hub) -> AdtFeed:
    return AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock)


def at(clock: FrozenClock, when: str) -> None:
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)


def edna_on_p1_ready_20_nov(hub: Hub, clock: FrozenClock) -> str:
    # Referred Fri 20 Nov 10:00, admitted Sun 15 Nov, pathway P1, discharge-ready 20 Nov.
    at(clock, "2026-11-20 10:00")
    return refer_someone(hub, nhs_number=EDNA, date_of_birth="1938-03-04", pathway="P1",
                         admitted_on="2026-11-15", discharge_ready_date="2026-11-20")  # fmt: skip


def hub_discharges_to_p1(hub: Hub, clock: FrozenClock, journey: str) -> None:
    # The hub catches up on Mon 23 Nov 09:30 and moves the card out to P1 at home.
    at(clock, "2026-11-23 09:30")
    for column in ("triage", "await_p1", "on_p1"):
        hub.move(journey, column)


def test_the_hospitals_a03_is_the_discharge_day_whenever_the_hub_moves_the_card(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    journey = edna_on_p1_ready_20_nov(hub, clock)
    # The PAS discharges her Sat 21 Nov 16:00; the message arrives at 16:05.
    at(clock, "2026-11-21 16:05")
    assert feed.process(adt("A03", EDNA, when="20261121160000",
                            discharged="20261121160000")).code == "AA"  # fmt: skip
    hub_discharges_to_p1(hub, clock, journey)
    # Daily sitrep, P1 row: (a) NCTR, (b) discharged that day, (c) remaining at the end of it.
    # 20 Nov: ready that day, still in        -> (1, 0, 1)
    # 21 Nov: left the bed that day (the A03) -> (1, 1, 0)
    # 22 and 23 Nov: gone                      -> (0, 0, 0); the hub's move on 23 Nov counts
    #   no second discharge and does not keep her "remaining" for two more days.
    assert daily_row(hub, "2026-11-20", "P1") == (1, 0, 1)
    assert daily_row(hub, "2026-11-21", "P1") == (1, 1, 0)
    assert daily_row(hub, "2026-11-22", "P1") == (0, 0, 0)
    assert daily_row(hub, "2026-11-23", "P1") == (0, 0, 0)
    # The hospital takes its discharge back (A13) at 10:00: the only discharge left is the
    # hub's, on 23 Nov; she was in hospital, ready, at the end of 21 and 22 Nov.
    at(clock, "2026-11-23 10:00")
    assert feed.process(adt("A13", EDNA, when="20261123100000")).code == "AA"
    assert daily_row(hub, "2026-11-21", "P1") == (1, 0, 1)
    assert daily_row(hub, "2026-11-22", "P1") == (1, 0, 1)
    assert daily_row(hub, "2026-11-23", "P1") == (1, 1, 0)


def test_a_late_a03_moves_a_discharge_the_hub_already_counted(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    journey = edna_on_p1_ready_20_nov(hub, clock)
    hub_discharges_to_p1(hub, clock, journey)
    assert daily_row(hub, "2026-11-23", "P1") == (1, 1, 0)
    # The A03 for Sat 21 Nov 16:00 arrives after the hub's move (an interface backlog):
    # as a late event it counts on its own day, and the 23 Nov discharge is taken back.
    at(clock, "2026-11-23 11:00")
    assert feed.process(adt("A03", EDNA, when="20261121160000",
                            discharged="20261121160000")).code == "AA"  # fmt: skip
    assert daily_row(hub, "2026-11-21", "P1") == (1, 1, 0)
    assert daily_row(hub, "2026-11-22", "P1") == (0, 0, 0)
    assert daily_row(hub, "2026-11-23", "P1") == (0, 0, 0)
    # The feed's discharge entry resolved itself: the hub had moved her out of hospital.
    assert AdtDesk(hub).waiting() == 0


def test_a_death_the_pas_records_is_a_death_never_a_discharge(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    journey = edna_on_p1_ready_20_nov(hub, clock)
    # A03 with discharge method 4 (died) in PV1-36, Sat 21 Nov 16:00.
    at(clock, "2026-11-21 16:05")
    outcome = feed.process(adt("A03", EDNA, when="20261121160000", discharged="20261121160000",
                               disposition="4"))  # fmt: skip
    assert outcome.code == "AA"
    # The hub is asked to close the journey as died.
    [prompt] = exception_rows(hub.store.engine)
    assert prompt["kind"] == "died" and "close the journey as died" in prompt["reason"]
    # Counted as a death on 21 Nov at once, before the hub acts; not "remaining" after it.
    at(clock, "2026-11-22 09:00")
    assert hub.reports.sitrep("2026-11-21").table("deaths").row("Died in hospital")[1] == 1
    assert daily_row(hub, "2026-11-22", "P1") == (0, 0, 0)
    at(clock, "2026-11-23 09:30")
    hub.close_journey(journey, "died")
    # Deaths, 21 Nov: one in hospital, and she no longer met the criteria to reside (ready
    # 20 Nov). Never a discharge: (b) is 0 on 21 and on 23 Nov; not remaining after 21 Nov.
    deaths = hub.reports.sitrep("2026-11-21").table("deaths")
    assert deaths.row("Died in hospital")[1] == 1
    assert deaths.row("Of those, no longer meeting the criteria to reside")[1] == 1
    assert daily_row(hub, "2026-11-21", "P1") == (0, 0, 0)
    assert daily_row(hub, "2026-11-23", "P1") == (0, 0, 0)
    assert hub.reports.sitrep("2026-11-23").table("deaths").row("Died in hospital")[1] == 0
    assert (
        hub.reports.sitrep("2026-11-23")
        .table("deaths")
        .row("Died in the community, on a pathway")[1]
        == 0
    )
    # Closed as died: the prompt resolved itself, naming what the hub did.
    assert AdtDesk(hub).waiting() == 0
    [done] = AdtDesk(hub).exceptions(include_resolved=True)
    assert done["resolution"] == "the hub closed the journey"


def test_a_date_of_death_in_pid_29_is_a_death_too(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    edna_on_p1_ready_20_nov(hub, clock)
    at(clock, "2026-11-21 16:05")
    feed.process(adt("A03", EDNA, discharged="20261121160000", death="20261121153000",
                     death_indicator="Y"))  # fmt: skip
    assert [row["kind"] for row in exception_rows(hub.store.engine)] == ["died"]


def cohorts(hub: Hub, day: str, **known: object) -> list[tuple[int, int]]:
    table = hub.reports.sitrep(day, week=True, **known).table("weekly_cohorts")  # type: ignore[arg-type]
    return [tuple(table.row(f"{d}+ days")[1:]) for d in (7, 14, 21)]  # type: ignore[misc]


def test_a_corrected_admission_date_holds_for_the_whole_stay_and_a_cancel_takes_it_back(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    # Referred Sat 21 Nov 10:00, admitted (the ward says) 20 Nov, discharge-ready 21 Nov.
    at(clock, "2026-11-21 10:00")
    refer_someone(hub, nhs_number=EDNA, date_of_birth="1938-03-04", admitted_on="2026-11-20",
                  discharge_ready_date="2026-11-21")  # fmt: skip
    # Sun 22 Nov 10:00 the PAS corrects it: admitted Sun 1 Nov.
    at(clock, "2026-11-22 10:00")
    assert feed.process(adt("A01", EDNA, when="20261122100000",
                            admitted="20261101103000")).code == "AA"  # fmt: skip
    # As now known, at the end of 21 Nov her stay was 20 days (1 -> 21 Nov): 7+ and 14+, not
    # 21+; bed days since the ready date 21 Nov: 0. (Believed then: 1 day, in no cohort.)
    assert cohorts(hub, "2026-11-21") == [(1, 0), (1, 0), (0, 0)]
    assert cohorts(hub, "2026-11-21", as_known_at="2026-11-21 23:00") == [(0, 0)] * 3
    # Mon 23 Nov 09:00 the PAS cancels that admission (A11): 20 Nov again, for the whole stay.
    at(clock, "2026-11-23 09:00")
    assert feed.process(adt("A11", EDNA, when="20261123090000")).code == "AA"
    assert cohorts(hub, "2026-11-21") == [(0, 0)] * 3
    assert cohorts(hub, "2026-11-22") == [(0, 0)] * 3
    # What was believed on 22 Nov at noon stays what it was.
    assert cohorts(hub, "2026-11-21", as_known_at="2026-11-22 12:00") == [(1, 0), (1, 0), (0, 0)]


def test_an_a13_after_the_hub_closed_the_journey_is_listed_for_a_person(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    journey = edna_on_p1_ready_20_nov(hub, clock)
    at(clock, "2026-11-21 16:05")
    feed.process(adt("A03", EDNA, when="20261121160000", discharged="20261121160000"))
    at(clock, "2026-11-22 09:00")
    hub.close_journey(journey, "home_independent")
    # The hospital cancels its discharge: she is still on a ward, and the hub must know.
    at(clock, "2026-11-22 10:00")
    outcome = feed.process(adt("A13", EDNA, when="20261122100000"))
    assert outcome.code == "AA" and "held for a person" in outcome.detail
    desk = AdtDesk(hub)
    assert desk.waiting() == 1
    [entry] = desk.exceptions()
    assert entry["kind"] == "reopen" and entry["journey_id"] == journey
    # The hub reopens the journey onto a ward column: the entry resolves itself.
    hub.reopen(journey, "referred")
    assert desk.waiting() == 0


def test_a_destination_given_with_a_discharging_move_is_kept(hub: Hub, clock: FrozenClock) -> None:
    from d2a_tui.cli import main

    journey = edna_on_p1_ready_20_nov(hub, clock)
    at(clock, "2026-11-23 09:30")
    for column in ("triage", "await_p1"):
        hub.move(journey, column)
    assert main(["move", journey[:8], "on_p1", "--destination", "P1_HOME",
                 "--db", hub.store.engine.url.render_as_string(hide_password=False)]) == 0  # fmt: skip
    moved = hub.store.events(journey)[-1]
    assert moved.payload["destination"] == "P1_HOME"
    # The monthly sitrep counts the discharge under that destination, none "not yet recorded"
    # (the command ran on the real clock: the month of today).
    clock.now = datetime.now(UTC)
    today = hub.calendar.day(clock.now).isoformat()
    monthly = hub.reports.sitrep(today, month=True).table("monthly")
    counted = {row[1]: row[2] for row in monthly.rows if row[2]}
    assert "Destination not yet recorded" not in counted
    assert sum(counted.values()) == 2 and counted.get("") == 1  # the one, and the total


def test_an_a08_with_another_admission_date_corrects_the_stay(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    at(clock, "2026-11-21 10:00")
    journey = refer_someone(hub, nhs_number=EDNA, date_of_birth="1938-03-04",
                            admitted_on="2026-11-20", discharge_ready_date="2026-11-21")  # fmt: skip
    # Sun 22 Nov: an A08 (patient update) whose PV1-44 says admitted Sun 1 Nov.
    at(clock, "2026-11-22 10:00")
    assert feed.process(adt("A08", EDNA, when="20261122100000",
                            admitted="20261101103000")).code == "AA"  # fmt: skip
    assert str(hub.store.card(journey).admitted_on) == "2026-11-01"
    # As now known, 20 days at the end of 21 Nov: 7+ and 14+ (see the A01 scenario above).
    assert cohorts(hub, "2026-11-21") == [(1, 0), (1, 0), (0, 0)]


def test_a_death_the_hospital_takes_back_is_no_death(
    hub: Hub, clock: FrozenClock, feed: AdtFeed
) -> None:
    edna_on_p1_ready_20_nov(hub, clock)
    at(clock, "2026-11-21 16:05")
    feed.process(adt("A03", EDNA, when="20261121160000", discharged="20261121160000",
                     disposition="4"))  # fmt: skip
    # Recorded against the wrong person: the PAS cancels it (A13) at 17:00.
    at(clock, "2026-11-21 17:00")
    assert feed.process(adt("A13", EDNA, when="20261121170000")).code == "AA"
    at(clock, "2026-11-22 09:00")
    assert hub.reports.sitrep("2026-11-21").table("deaths").row("Died in hospital")[1] == 0
    assert daily_row(hub, "2026-11-21", "P1") == (1, 0, 1)
    assert AdtDesk(hub).waiting() == 0  # the prompt to close as died went with it
