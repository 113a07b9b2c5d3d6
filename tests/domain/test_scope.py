"""The pure need-to-know rules: which services a journey is offered to, and what each view keeps
of an event."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.calendar import LONDON
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.scope import OfferFact, cut, initials, offers, pseudonym

MADE, ACCEPTED, DECLINED, WITHDRAWN, QUESTION = (
    EventKind.OFFER_MADE,
    EventKind.OFFER_ACCEPTED,
    EventKind.OFFER_DECLINED,
    EventKind.OFFER_WITHDRAWN,
    EventKind.OFFER_QUESTION,
)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def made(offer: str, service: str) -> OfferFact:
    return OfferFact(MADE, {"offer_id": offer, "service_id": service, "note": "", "start": None})


def said(kind: EventKind, offer: str) -> OfferFact:
    return OfferFact(kind, {"offer_id": offer})


def test_an_open_or_questioned_offer_shows_the_journey_to_its_service_only() -> None:
    facts = [made("o1", "north"), said(QUESTION, "o1"), made("o2", "south"), said(DECLINED, "o2")]
    assert offers(facts).offered_to(None, NOW, LONDON) == {"north"}


def test_accepted_stays_until_fourteen_hub_days_after_the_close() -> None:
    accepted = offers([made("o1", "north"), said(ACCEPTED, "o1")])
    # Closed at 23:30 UTC on 30 November, which is still the 30th in London (GMT in winter).
    closed = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert accepted.offered_to(closed, datetime(2026, 12, 14, 23, 59, tzinfo=UTC), LONDON) == {
        "north"
    }
    assert accepted.offered_to(closed, datetime(2026, 12, 15, 0, 1, tzinfo=UTC), LONDON) == set()
    assert accepted.offered_to(None, datetime(2027, 6, 1, tzinfo=UTC), LONDON) == {"north"}


def test_an_answer_to_an_offer_never_made_changes_nothing() -> None:
    assert offers([said(ACCEPTED, "ghost")]).offered_to(None, NOW, LONDON) == set()


@given(
    st.lists(
        st.tuples(
            st.sampled_from((MADE, ACCEPTED, DECLINED, WITHDRAWN, QUESTION)),
            st.sampled_from(("o1", "o2", "o3")),
            st.sampled_from(("north", "south")),
        ),
        max_size=12,
    )
)
def test_a_service_sees_a_journey_only_through_an_offer_still_standing(
    steps: list[tuple[EventKind, str, str]],
) -> None:
    facts = [made(o, s) if kind is MADE else said(kind, o) for kind, o, s in steps]
    seen = offers(facts).offered_to(None, NOW, LONDON)
    # Worked out again by hand: the last word on each offer, and its service when last made.
    last: dict[str, tuple[EventKind, str]] = {}
    for kind, offer_id, service in steps:
        if kind is MADE:
            last[offer_id] = (MADE, service)
        elif offer_id in last and kind is not QUESTION:
            last[offer_id] = (kind, last[offer_id][1])
    standing = {service for kind, service in last.values() if kind in (MADE, ACCEPTED)}
    assert seen == standing


REFERRAL = {
    "patient": {
        "id": "p-1",
        "nhs_number": "9434765919",
        "name": "Edna May Example",
        "date_of_birth": "1938-03-04",
        "locality": "North",
    },
    "column": "referred",
    "pathway": "P1",
    "ward": "Ward 7",
    "bed": "B3",
    "discharge_ready_date": "2026-11-20",
    "expected_discharge_date": "2026-11-25",
    "admitted_on": "2026-11-15",
}


def test_a_provider_sees_the_agreed_fields_and_its_own_offers_only() -> None:
    kind, payload = cut("referred", REFERRAL, "provider")
    assert kind == "referred"
    assert set(payload) == {"patient", "column", "pathway", "ward", "bed", "discharge_ready_date"}
    assert payload["patient"]["nhs_number"] == "9434765919"
    assert cut("note_added", {"text": "hub only"}, "provider") == ("withheld", {})
    assert cut("delay_set", {"code": "EQUIP"}, "provider") == ("withheld", {})
    own = {"offer_id": "o1", "service_id": "north", "note": "Thursday?"}
    assert cut("offer_made", own, "provider", frozenset({"o1"})) == ("offer_made", own)
    assert cut("offer_made", {**own, "offer_id": "o2"}, "provider", frozenset({"o1"})) == (
        "withheld",
        {},
    )


def test_a_viewer_gets_initials_and_a_manager_no_identifier() -> None:
    _, viewer = cut("referred", REFERRAL, "initials")
    assert viewer["patient"]["name"] == "E M E"
    assert viewer["patient"]["date_of_birth"] == "1938-01-01"
    assert viewer["patient"]["nhs_number"] == pseudonym("p-1") != "9434765919"
    _, manager = cut("referred", REFERRAL, "figures")
    text = repr(manager)
    for secret in ("Edna", "9434765919", "1938-03-04", "Ward 7", "B3"):
        assert secret not in text
    assert manager["pathway"] == "P1" and manager["patient"]["locality"] == "North"
    assert cut("note_added", {"text": "private"}, "figures") == ("note_added", {"text": ""})


def test_initials_take_the_first_letter_of_each_name() -> None:
    assert initials("o'Brien, mary") == "O M"


def test_the_family_name_leaves_only_for_those_who_see_the_name() -> None:
    payload = {
        "patient": {"id": "p1", "nhs_number": "9434765919", "name": "Edna Ó Briain",
                    "family_name": "Ó Briain", "date_of_birth": "1938-03-04"},
        "column": "referred",
    }  # fmt: skip
    assert cut("referred", payload, "full")[1]["patient"]["family_name"] == "Ó Briain"
    assert cut("referred", payload, "provider")[1]["patient"]["family_name"] == "Ó Briain"
    for view in ("initials", "figures"):
        patient = cut("referred", payload, view)[1]["patient"]
        assert "family_name" not in patient and "Briain" not in str(patient)
