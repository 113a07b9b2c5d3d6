"""The ADT feed applied to journeys: each trigger, the ACK codes, duplicates and the exceptions queue.

The hub's clock is frozen at Mon 23 Nov 2026 09:30 UTC; November is GMT, so the messages' local
times are UTC times.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import hl7
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2a_tui.domain.events import EventKind
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.queue import admission_rows, exception_rows, waiting_count
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.interop.hl7_samples import adt

EDNA = "9434765919"
BOB = "9434765870"


@pytest.fixture
def feed(hub: Hub) -> AdtFeed:
    return AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock)


def edna(hub: Hub) -> str:
    return refer_someone(hub, nhs_number=EDNA, name="Edna Example", date_of_birth="1938-03-04",
                         admitted_on="2026-11-20", ward="Ward 1", bed="A1")  # fmt: skip


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1"])
def test_an_admission_sets_the_date_and_ward_with_the_feeds_actor_and_time(
    hub: Hub, feed: AdtFeed, version: str
) -> None:
    journey = edna(hub)
    outcome = feed.process(adt("A01", EDNA, version=version, admitted="20261122231500"))
    assert outcome.code == "AA", outcome.detail
    card = hub.store.card(journey)
    assert (card.admitted_on, card.ward, card.bed) == (date(2026, 11, 22), "WARD7", "B3")
    event = hub.store.events(journey)[-1]
    assert event.kind is EventKind.ADMISSION_RECORDED
    assert event.actor == "adt:RXX01"
    assert event.occurred_at == datetime(2026, 11, 23, 9, 25, tzinfo=UTC)  # EVN-2, GMT


def test_the_ack_says_AA_and_names_the_message(hub: Hub, feed: AdtFeed) -> None:
    edna(hub)
    message = adt("A02", EDNA, msg_id="CTRL42", ward="WARD9", bed="C4")
    _, reply = feed.handle(message)
    parsed = hl7.parse(reply.decode())
    assert str(parsed["MSH.F9.R1.C1"]) == "ACK"
    assert (str(parsed["MSA.F1"]), str(parsed["MSA.F2"])) == ("AA", "CTRL42")
    assert "ward_set" in str(parsed["MSA.F3"])


def test_a_transfer_moves_ward_and_bed(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    assert feed.process(adt("A02", EDNA, ward="WARD9", bed="C4")).code == "AA"
    card = hub.store.card(journey)
    assert (card.ward, card.bed) == ("WARD9", "C4")


def test_an_admission_for_someone_not_referred_waits_for_the_hub(hub: Hub, feed: AdtFeed) -> None:
    outcome = feed.process(adt("A01", BOB, name="BUILDER^BOB", dob="19400102"))
    assert outcome.code == "AA" and "not referred" in outcome.detail
    # On the admissions list, which is not work waiting: no exception, nothing counted.
    assert exception_rows(hub.store.engine) == [] and waiting_count(hub.store.engine) == 0
    [row] = admission_rows(hub.store.engine)
    assert (row["kind"], row["nhs_number"], row["name"]) == ("admitted", BOB, "BOB BUILDER")
    # A transfer before the referral updates the list; a cancel takes the person off it.
    assert feed.process(adt("A02", BOB, ward="WARD3", bed="D1")).code == "AA"
    assert admission_rows(hub.store.engine)[0]["ward"] == "WARD3"
    assert feed.process(adt("A11", BOB)).code == "AA"
    assert admission_rows(hub.store.engine) == []
    assert hub.board() == []


def test_a_discharge_informs_and_the_hub_decides_then_a_cancel_undoes_it(
    hub: Hub, feed: AdtFeed
) -> None:
    journey = edna(hub)
    outcome = feed.process(adt("A03", EDNA, discharged="20261123091000"))
    assert outcome.code == "AA"
    event = hub.store.events(journey)[-1]
    assert event.kind is EventKind.HOSPITAL_DISCHARGE_RECORDED
    assert event.payload["at"] == "2026-11-23T09:10:00+00:00"
    [prompt] = exception_rows(hub.store.engine)
    assert prompt["kind"] == "discharged" and "Referred: move or close it" in prompt["reason"]
    assert hub.store.card(journey).column == "referred"  # the feed never moves a journey
    assert feed.process(adt("A13", EDNA)).code == "AA"
    cancel = hub.store.events(journey)[-1]
    assert (cancel.payload["at"], cancel.payload["cancels"]) == (None, event.event_id)
    assert exception_rows(hub.store.engine) == []


def test_a_cancelled_admission_restores_what_was_there(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    feed.process(adt("A01", EDNA, admitted="20261122080000", ward="WARD7", bed="B3"))
    assert feed.process(adt("A11", EDNA)).code == "AA"
    card = hub.store.card(journey)
    assert (card.admitted_on, card.ward, card.bed) == (date(2026, 11, 20), "Ward 1", "A1")
    kinds = [e.kind for e in hub.store.events(journey)]
    assert kinds[-2:] == [EventKind.ADMISSION_RECORDED, EventKind.ADMISSION_RECORDED]
    assert feed.process(adt("A11", EDNA)).code == "AE"  # nothing left to cancel


def test_a_name_change_is_recorded_but_a_different_birth_date_is_held(
    hub: Hub, feed: AdtFeed
) -> None:
    journey = edna(hub)
    assert feed.process(adt("A08", EDNA, name="EXAMPLE-SMITH^EDNA")).code == "AA"
    assert hub.store.card(journey).name == "EDNA EXAMPLE-SMITH"
    head = hub.head_position()
    outcome = feed.process(adt("A08", EDNA, name="OTHER^ONE", dob="19380305"))
    assert outcome.code == "AA" and outcome.detail.startswith("held for a person")
    assert hub.head_position() == head
    assert hub.store.card(journey).name == "EDNA EXAMPLE-SMITH"
    [held] = exception_rows(hub.store.engine)
    assert (held["kind"], held["date_of_birth"]) == ("mismatch", date(1938, 3, 5))


def test_a_merge_joins_the_journeys_under_the_surviving_number_keeping_both_histories(
    hub: Hub, feed: AdtFeed
) -> None:
    old = refer_someone(hub, nhs_number=BOB, name="Bob Builder", date_of_birth="1940-01-02")
    hub.close_journey(old, "home_independent")
    current = refer_someone(hub, serial=2, nhs_number=EDNA, name="Bob Builder",
                            date_of_birth="1940-01-02")  # fmt: skip
    before = {j: len(hub.store.events(j)) for j in (old, current)}
    outcome = feed.process(adt("A40", EDNA, name="BUILDER^BOB", dob="19400102", prior_nhs=BOB))
    assert outcome.code == "AA", outcome.detail
    assert hub.store.card(old).nhs_number == EDNA
    assert hub.store.card(current).nhs_number == EDNA
    assert len(hub.store.events(old)) == before[old] + 1  # its history, then the merge
    assert len(hub.store.events(current)) == before[current]
    assert hub.store.events(old)[-1].payload["previous_nhs_number"] == BOB


def test_a_merge_of_two_open_journeys_is_held(hub: Hub, feed: AdtFeed) -> None:
    refer_someone(hub, nhs_number=BOB, name="Bob Builder", date_of_birth="1940-01-02")
    refer_someone(hub, serial=2, nhs_number=EDNA, name="Bob Builder", date_of_birth="1940-01-02")
    outcome = feed.process(adt("A40", EDNA, name="BUILDER^BOB", dob="19400102", prior_nhs=BOB))
    assert outcome.detail.startswith("held for a person: both records have an open journey")
    assert [row["kind"] for row in exception_rows(hub.store.engine)] == ["merge"]


def test_the_same_control_id_twice_changes_nothing(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    message = adt("A02", EDNA, ward="WARD9", msg_id="SAME0001")
    assert feed.process(message).code == "AA"
    head = hub.head_position()
    again = feed.process(message)
    assert (again.code, again.duplicate, again.journey_id) == ("AA", True, journey)
    assert hub.head_position() == head


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("this is not HL7", "AR", "does not start with an MSH segment"),
        (adt("A05", EDNA), "AR", "ADT^A05 is not supported"),
        (adt("A01", EDNA).replace("ADT^A01^ADT_A01", "ORU^R01"), "AR", "is not ADT"),
        (adt("A01", EDNA).replace("|20261123093000|", "||"), "AR", "MSH-7"),
        (adt("A01", EDNA).split("\rPID")[0], "AR", "no PID segment"),
        (adt("A02", BOB), "AA", "not on the hub: nothing to do"),
        (adt("A08", BOB), "AA", "not on the hub: nothing to do"),
        (adt("A02", "9434765918"), "AE", "fails validation"),
        (adt("A02", None), "AE", "no NHS number in PID-3"),
    ],
)
def test_bad_messages_get_a_specific_answer_and_change_nothing(
    hub: Hub, feed: AdtFeed, message: str, code: str, reason: str
) -> None:
    edna(hub)
    head = hub.head_position()
    outcome, reply = feed.handle(message)
    assert (outcome.code, reason in outcome.detail) == (code, True), outcome.detail
    assert f"MSA|{code}|" in reply.decode()
    assert hub.head_position() == head
    # A refused message is not recorded as processed: once fixed, it can be sent again.
    assert exception_rows(hub.store.engine) == []


def test_messages_sharing_a_commit_keep_apart(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    first = adt("A02", EDNA, ward="WARD2", msg_id="GROUP001")
    results = feed.handle_many(
        [first, adt("A02", "9434765918", msg_id="GROUP002"), adt("A02", EDNA, ward="WARD3", msg_id="GROUP003"),
         first, "garbage"]
    )  # fmt: skip
    assert [(o.code, o.duplicate) for o, _ in results] == [
        ("AA", False), ("AE", False), ("AA", False), ("AA", True), ("AR", False)
    ]  # fmt: skip
    # The refused message took nothing with it; both transfers and nothing else were applied.
    kinds = [e.kind for e in hub.store.events(journey)]
    assert kinds.count(EventKind.WARD_SET) == 2
    assert hub.store.card(journey).ward == "WARD3"
    assert [r.decode().split("MSA|")[1][:2] for _, r in results] == ["AA", "AE", "AA", "AA", "AR"]


_SERIALS = itertools.count(1)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_resending_any_messages_in_any_order_applies_each_once(
    sqlite_url: str, data: st.DataObject
) -> None:
    """However often an engine resends, the journey ends as if each message came once, in the
    order of first arrival."""
    from d2a_tui.domain.flow import load_flow
    from d2a_tui.domain.nhs_number import next_synthetic
    from d2a_tui.storage.db import make_engine
    from d2a_tui.storage.journeys import Actor, JourneyStore
    from tests.conftest import FrozenClock

    hub = Hub(JourneyStore(make_engine(sqlite_url), load_flow()), Actor("t", "d"), FrozenClock())
    serial = next(_SERIALS)  # a new patient per example: the database is shared by the examples
    nhs = next_synthetic(serial * 11)[1]
    journey = refer_someone(hub, serial, nhs_number=nhs)
    feed = AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock)
    count = data.draw(st.integers(min_value=1, max_value=6), label="messages")
    originals = [adt("A02", nhs, dob="19410506", ward=f"W{serial}-{i}", msg_id=f"H{serial}-{i}")
                 for i in range(count)]  # fmt: skip
    sends = originals + data.draw(st.lists(st.sampled_from(originals), max_size=6), label="resends")
    order = data.draw(st.permutations(sends), label="order")
    for message in order:
        assert feed.process(message).code == "AA"
    first_seen = list(dict.fromkeys(order))
    card = hub.store.card(journey)
    assert card.ward == f"W{serial}-{originals.index(first_seen[-1])}"
    wards = [e for e in hub.store.events(journey) if e.kind is EventKind.WARD_SET]
    assert len(wards) == count
    hub.close()


def test_an_admission_date_from_the_feed_moves_the_sitrep_cohorts(hub: Hub, feed: AdtFeed) -> None:
    refer_someone(hub, nhs_number=EDNA, date_of_birth="1938-03-04", admitted_on="2026-11-20",
                  discharge_ready_date="2026-11-21")  # fmt: skip
    cohorts = hub.reports.sitrep("2026-11-23", week=True).table("weekly_cohorts")
    assert cohorts.row("7+ days")[1] == 0  # LoS 3 days (20 -> 23 Nov)
    # The PAS says she came in on 1 Nov: LoS 22 days at the end of 23 Nov, so 7+, 14+ and 21+,
    # each with 2 bed days since the ready date (21 -> 23 Nov).
    assert feed.process(adt("A01", EDNA, admitted="20261101103000")).code == "AA"
    cohorts = hub.reports.sitrep("2026-11-23", week=True).table("weekly_cohorts")
    assert [cohorts.row(f"{d}+ days")[1:] for d in (7, 14, 21)] == [(1, 2)] * 3
