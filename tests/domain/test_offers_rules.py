"""The offer rules as a state machine, by hypothesis: whatever the hub and the providers try, in
any order, an answered or withdrawn offer never changes again, a person never has two open
offers to one service, and folding the events that were allowed gives the offers as they were
judged step by step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import Event, JourneyState
from d2a_tui.domain.offers import OPEN, OfferContext, ServiceRef, decide_offer, fold

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SERVICES = {
    "north": ServiceRef("north", "North", "P1", "northcare"),
    "south": ServiceRef("south", "South", "P1", "southcare"),
    "beds": ServiceRef("beds", "Beds", "P2", "northcare"),
}
STATE = JourneyState(
    id="j1", patient_id="p1", column="await_p1", pathway="P1", ward=None, bed=None,
    admitted_on=None, referred_at=START, entered_column_at=START,
)  # fmt: skip

step = st.tuples(
    st.sampled_from(["offer", "accept_offer", "decline_offer", "withdraw_offer", "ask_offer"]),
    st.sampled_from(["north", "south", "beds", "nowhere"]),  # the service, for an offer
    st.integers(0, 5),  # which offer an answer names (by order made; past the end: unknown)
    st.sampled_from([None, "northcare", "southcare"]),  # a provider's organisation, or the hub
    st.sampled_from(["no_capacity", "other", "bad"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=25))
def test_offers_follow_their_rules_in_any_order(
    steps: list[tuple[str, str, int, str | None, str]],
) -> None:
    events: list[Event] = []
    made: list[str] = []
    for n, (command, service, which, organisation, reason) in enumerate(steps):
        event_id = f"e{n}"
        offers = fold(events)
        context = OfferContext(
            offers, SERVICES, event_id,
            role="provider" if organisation else "coordinator", organisation=organisation,
        )  # fmt: skip
        args: dict[str, object] = {"service_id": service}
        if command != "offer":
            args = {"offer_id": made[which] if which < len(made) else "unknown"}
            args |= {"start": "2026-11-25", "reason": reason, "text": None, "note": None}
            args = {k: v for k, v in args.items() if k in _ARGS[command]}
        try:
            kind, payload = decide_offer(STATE, command, args, date(2026, 11, 23), context)
        except D2AError:
            continue
        target = offers.get(str(payload["offer_id"]))
        if command == "offer":
            made.append(event_id)
            assert not any(o.is_open and o.service_id == service for o in offers.values())
            assert SERVICES[service].pathway == STATE.pathway
        else:
            assert target is not None and target.status == OPEN  # only an open offer is answered
            if organisation is not None:  # a provider, on its own service's offer only
                assert SERVICES[target.service_id].organisation_id == organisation
        events.append(
            Event(event_id, "j1", kind, payload, "someone", START + timedelta(minutes=n), n + 2)
        )
    final = fold(events)
    assert set(final) == set(made)
    for offer_id in made:  # once answered, each stays as its answer made it
        answers = [
            e for e in events if e.payload["offer_id"] == offer_id and e.kind != "offer_question"
        ]
        assert len(answers) <= 2  # the offer and at most one answer
        if len(answers) == 2:
            assert final[offer_id].status != OPEN


_ARGS = {
    "accept_offer": {"offer_id", "start"},
    "decline_offer": {"offer_id", "reason", "text"},
    "withdraw_offer": {"offer_id"},
    "ask_offer": {"offer_id", "text"},
}


def _flow_with(offers_table: str) -> str:
    from d2a_tui.domain.flow import default_flow_path

    text = default_flow_path().read_text(encoding="utf-8")
    start = text.index("[offers]")
    end = text.index("[[column]]")
    return text[:start] + offers_table + "\n\n" + text[end:]


def test_the_flow_files_offer_clock_and_move_are_read_and_bad_ones_refused() -> None:
    import pytest

    from d2a_tui.domain.flow import FlowError, OfferRules, parse_flow

    assert parse_flow(_flow_with("[offers]")).offers == OfferRules()  # 2 h and 4 h, no move
    rules = parse_flow(_flow_with('[offers]\namber = "30m"\nred = "1h"\naccept_moves_to = "on_p1"'))
    assert rules.offers == OfferRules(timedelta(minutes=30), timedelta(hours=1), "on_p1")
    for table, problem in [
        ('[offers]\namber = "5h"\nred = "1h"', "red must not come before amber"),
        ('[offers]\namber = "soon"', "not a duration"),
        ('[offers]\naccept_moves_to = "closed"', "accept_moves_to must be an open column"),
        ('[offers]\nsnooze = "1h"', "unknown key 'snooze' in \\[offers\\]"),
    ]:
        with pytest.raises(FlowError, match=problem):
            parse_flow(_flow_with(table))
