"""What an ADT message means, as real feeds write it (issue 23 §2): duplicates by content, the
stay a message is about, when it happened, how its text is encoded and its dates written, where
the ward is, merges by MRN, field limits, and people the hub does not follow.

The hub's clock is frozen at Mon 23 Nov 2026 09:30 UTC (GMT: local times are UTC times).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from d2a_tui.domain.events import EventKind
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.adt_triggers import SenderProfile
from d2a_tui.interop.hl7v2 import read_message
from d2a_tui.interop.mllp import decode
from d2a_tui.interop.queue import admission_rows, exception_rows
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone
from tests.interop.hl7_samples import adt

EDNA = "9434765919"
BOB = "9434765870"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def feed(hub: Hub) -> AdtFeed:
    return AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock)


def edna(hub: Hub) -> str:
    return refer_someone(hub, nhs_number=EDNA, name="Edna Example", date_of_birth="1938-03-04",
                         admitted_on="2026-11-20", ward="Ward 1", bed="A1")  # fmt: skip


def test_a_reused_control_id_with_other_content_is_applied_not_dropped(
    hub: Hub, feed: AdtFeed
) -> None:
    journey = edna(hub)
    assert feed.process(adt("A02", EDNA, ward="WARD2", msg_id="00000001")).code == "AA"
    # The PAS restarts and numbers its messages from 1 again: a different transfer, same id.
    again = feed.process(adt("A02", EDNA, ward="WARD6", msg_id="00000001"))
    assert (again.code, again.duplicate) == ("AA", False)
    assert hub.store.card(journey).ward == "WARD6"
    # The same message resent (even restamped in MSH-7) is still a duplicate.
    resent = feed.process(adt("A02", EDNA, ward="WARD6", msg_id="00000001", sent="20261123094500"))
    assert resent.duplicate
    wards = [e for e in hub.store.events(journey) if e.kind is EventKind.WARD_SET]
    assert len(wards) == 2


def test_an_outpatient_visit_never_changes_an_inpatients_journey(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    assert feed.process(adt("A01", EDNA, admitted="20261119100000", visit="V900001")).code == "AA"
    head = hub.head_position()
    clinic = feed.process(
        adt("A04", EDNA, patient_class="O", admitted="20261123090000", ward="OPD3", visit="V900777")
    )
    assert clinic.code == "AA" and "not an inpatient stay" in clinic.detail
    assert hub.head_position() == head
    card = hub.store.card(journey)
    assert (card.admitted_on, card.ward) == (date(2026, 11, 19), "WARD7")
    # A message about the journey's own visit applies whatever its class says.
    assert (
        feed.process(adt("A02", EDNA, patient_class="", ward="WARD9", visit="V900001")).code == "AA"
    )
    assert hub.store.card(journey).ward == "WARD9"


def test_an_outpatient_registration_of_someone_not_referred_is_not_an_admission(
    hub: Hub, feed: AdtFeed
) -> None:
    assert feed.process(adt("A04", BOB, patient_class="O", name="BUILDER^BOB")).code == "AA"
    assert admission_rows(hub.store.engine) == []


def test_the_event_time_is_evn6_then_evn2_then_msh7(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    feed.process(adt("A02", EDNA, when="20261123092500", occurred="20261123071500", ward="W1"))
    feed.process(adt("A02", EDNA, when="20261123092600", ward="W2"))
    feed.process(adt("A02", EDNA, when="", sent="20261123092700", ward="W3"))
    times = [e.occurred_at for e in hub.store.events(journey) if e.kind is EventKind.WARD_SET]
    assert times == [
        datetime(2026, 11, 23, 7, 15, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 26, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 27, tzinfo=UTC),
    ]


def test_a_windows_1252_name_is_read_never_refused(hub: Hub, feed: AdtFeed) -> None:
    journey = edna(hub)
    for charset in ("8859/1", "UNICODE UTF-8", ""):
        # 0x92 is a right single quote in Windows-1252, whatever the header claims.
        raw = adt("A08", EDNA, name="O'BRIEN^EDNA", charset=charset).encode("ascii")
        text = decode(raw.replace(b"O'BRIEN", b"O\x92BRIEN"))
        outcome = feed.process(text)
        assert outcome.code == "AA", outcome.detail
    assert hub.store.card(journey).name == "EDNA O\u2019BRIEN"
    assert decode(
        "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||||||UNICODE UTF-8\rPID|||||Zoë".encode()
    ).endswith("Zoë")


@pytest.mark.parametrize(
    "written",
    ["19380304", "1938-03-04", "193803041230", "1938-03-04T12:30:00+01:00", "19380304000000+0000"],
)
def test_dates_of_birth_are_read_in_the_forms_feeds_send(written: str) -> None:
    message = read_message(adt("A01", EDNA, dob=written), LONDON)
    assert message.patient.date_of_birth == date(1938, 3, 4)


def test_timestamps_with_zones_and_iso_forms_are_read() -> None:
    message = read_message(adt("A01", EDNA, admitted="2026-11-22T23:15:00Z"), LONDON)
    assert message.admitted_at == datetime(2026, 11, 22, 23, 15, tzinfo=UTC)
    summer = read_message(adt("A01", EDNA, admitted="202607010915+0100"), LONDON)
    assert summer.admitted_at == datetime(2026, 7, 1, 8, 15, tzinfo=UTC)


def test_the_ward_is_read_where_the_senders_profile_puts_it(hub: Hub) -> None:
    journey = edna(hub)
    # This sender writes the site code in PV1-3.1 and the ward in PV1-3.2.
    feed = AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock,
                   {"RCB": SenderProfile(ward=2, bed=3)})  # fmt: skip
    outcome = feed.process(adt("A02", EDNA, facility="RCB", location="RCB^ELM WARD^12^RCB"))
    assert outcome.code == "AA", outcome.detail
    card = hub.store.card(journey)
    assert (card.ward, card.bed) == ("ELM WARD", "12")
    # Another sender keeps the default: PV1-3.1.
    feed.process(adt("A02", EDNA, location="WARD4^^7^RXX01"))
    assert hub.store.card(journey).ward == "WARD4"


def test_a_merge_naming_the_old_record_by_its_mrn_finds_it(hub: Hub, feed: AdtFeed) -> None:
    old = refer_someone(hub, nhs_number=BOB, name="Bob Builder", date_of_birth="1940-01-02")
    # The hub has seen Bob's MRN with his NHS number in an earlier message.
    assert feed.process(adt("A02", BOB, dob="19400102", mrn="RXX7654321")).code == "AA"
    merge = adt("A40", EDNA, name="BUILDER^BOB", dob="19400102", prior_ids="RXX7654321^^^RXX01^MR")
    outcome = feed.process(merge)
    assert outcome.code == "AA", outcome.detail
    assert hub.store.card(old).nhs_number == EDNA


def test_a_merge_into_a_new_nhs_number_works(hub: Hub, feed: AdtFeed) -> None:
    old = refer_someone(hub, nhs_number=BOB, name="Bob Builder", date_of_birth="1940-01-02")
    # EDNA's number is new to the hub: the surviving patient's row is made by the merge.
    outcome = feed.process(adt("A40", EDNA, name="BUILDER^BOB", dob="19400102", prior_nhs=BOB))
    assert outcome.code == "AA", outcome.detail
    assert hub.store.card(old).nhs_number == EDNA


@pytest.mark.parametrize(
    ("name", "reason"),
    [("SMITH^" + "A" * 5000, "at most 100 characters"), ("SMI\x07TH^ANN", "control character")],
)
def test_the_feeds_text_meets_the_field_limits(
    hub: Hub, feed: AdtFeed, name: str, reason: str
) -> None:
    outcome = feed.process(adt("A01", BOB, name=name))
    assert outcome.code == "AE" and reason in outcome.detail
    assert admission_rows(hub.store.engine) == []


def test_a_person_not_on_the_hub_is_AA_with_nothing_to_do_and_listed_once(
    hub: Hub, feed: AdtFeed
) -> None:
    for trigger in ("A02", "A03", "A08", "A13", "A11"):
        outcome = feed.process(adt(trigger, BOB))
        assert (outcome.code, outcome.detail) == ("AA", "not on the hub: nothing to do")
    # Admitted twice (a correction): one entry on the admissions list, brought up to date.
    feed.process(adt("A01", BOB, name="BUILDER^BOB", admitted="20261122100000", ward="WARD3"))
    feed.process(adt("A01", BOB, name="BUILDER^BOB", admitted="20261122110000", ward="WARD5"))
    [row] = admission_rows(hub.store.engine)
    assert row["ward"] == "WARD5"
    assert exception_rows(hub.store.engine) == []
    assert [r["ward"] for r in admission_rows(hub.store.engine, ward="ward5")] == ["WARD5"]
    assert admission_rows(hub.store.engine, ward="WARD3") == []


def test_an_admission_referred_from_the_board_leaves_the_admissions_list(
    hub: Hub, feed: AdtFeed
) -> None:
    from d2a_tui.interop.desk import AdtDesk

    feed.process(adt("A01", BOB, name="BUILDER^BOB", dob="19400102"))
    desk = AdtDesk(hub)
    assert [row["nhs_number"] for row in desk.admissions()] == [BOB]
    # The hub refers him from the board, not from the list: the list follows.
    journey = refer_someone(hub, nhs_number=BOB, name="Bob Builder", date_of_birth="1940-01-02")
    assert desk.admissions() == []
    [done] = desk.admissions(include_done=True)
    assert done["resolution"] == f"referred as journey {journey[:8]}"
