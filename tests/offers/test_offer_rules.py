"""Offers through the one write path, on SQLite and PostgreSQL: the story folds from events,
and every refusal names its reason and stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from d2a_tui.domain.errors import D2AError, InvalidInput
from d2a_tui.domain.flow import OfferRules, load_flow
from d2a_tui.domain.offers import OfferRefused, offer_mark
from d2a_tui.domain.stuck import Level
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock
from tests.offers.conftest import on_p1, two_providers


def offer_kinds(hub: Hub, journey_id: str) -> list[str]:
    return [str(e.kind) for e in hub.store.events(journey_id) if str(e.kind).startswith("offer_")]


def test_an_offer_and_its_acceptance_are_two_events_and_fold_to_accepted(
    hub: Hub, clock: FrozenClock
) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    made = hub.offers.make(
        journey_id, "reablement-north", start=date(2026, 11, 26), note="lives alone"
    )
    offer_id = made.event.event_id
    assert made.event.payload == {
        "offer_id": offer_id, "service_id": "reablement-north", "start": "2026-11-26",
        "note": "lives alone",
    }  # fmt: skip
    assert made.card.column == "await_p1"  # an offer moves nothing
    clock.advance(minutes=90)
    accepted = hub.offers.accept(offer_id[-8:], date(2026, 11, 27))
    assert accepted.event.payload == {"offer_id": offer_id, "start": "2026-11-27"}
    assert accepted.card.column == "await_p1"  # nor does accepting, unless the flow says so
    (view,) = hub.offers.list()
    assert view.offer.status == "accepted"
    assert view.offer.start == date(2026, 11, 27)
    assert view.offer.waited(clock()) == timedelta(minutes=90)
    assert offer_kinds(hub, journey_id) == ["offer_made", "offer_accepted"]


def test_declines_carry_a_coded_reason_and_other_needs_words(hub: Hub) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    offer_id = hub.offers.make(journey_id, "reablement-north").event.event_id
    with pytest.raises(OfferRefused) as bad:
        hub.offers.decline(offer_id, "too_busy")
    assert bad.value.reason == "bad_reason"
    with pytest.raises(InvalidInput, match="cannot be empty"):
        hub.offers.decline(offer_id, "other")
    assert offer_kinds(hub, journey_id) == ["offer_made"]  # the refusals stored nothing
    hub.offers.decline(offer_id, "out_of_area", "lives past the ring road")
    (view,) = hub.offers.list()
    assert (view.offer.status, view.offer.reason, view.offer.text) == (
        "declined", "out_of_area", "lives past the ring road",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("service", "reason"),
    [("nowhere", "unknown_service"), ("meadowbank", "wrong_pathway")],
)
def test_an_offer_to_an_unknown_or_other_pathway_service_is_refused(
    hub: Hub, service: str, reason: str
) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    version = hub.store.card(journey_id).version
    with pytest.raises(OfferRefused) as refused:
        hub.offers.make(journey_id, service)
    assert refused.value.reason == reason
    assert hub.store.card(journey_id).version == version


def test_answers_to_a_withdrawn_or_answered_offer_are_refused(hub: Hub) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    first = hub.offers.make(journey_id, "reablement-north").event.event_id
    second = hub.offers.make(journey_id, "home-care-south").event.event_id
    hub.offers.withdraw(first)
    hub.offers.accept(second, date(2026, 11, 25))
    version = hub.store.card(journey_id).version
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: hub.offers.accept(first, date(2026, 11, 25)), "offer_withdrawn"),
        (lambda: hub.offers.ask(first, "still free?"), "offer_withdrawn"),
        (lambda: hub.offers.decline(second, "no_capacity"), "offer_answered"),
        (lambda: hub.offers.withdraw(second), "offer_answered"),
    ]
    for attempt, reason in cases:
        with pytest.raises(OfferRefused) as refused:
            attempt()
        assert refused.value.reason == reason
    assert hub.store.card(journey_id).version == version


def test_a_provider_answers_only_its_own_services_offers(make_hub: Callable[..., Hub]) -> None:
    hub = make_hub()
    two_providers(hub)
    journey_id = on_p1(hub)
    offer_id = hub.offers.make(journey_id, "home-care-south").event.event_id
    nora = make_hub("nora", "device-n")  # Northcare's: not hers
    with pytest.raises(OfferRefused) as refused:
        nora.offers.accept(offer_id, date(2026, 11, 25))
    assert refused.value.reason == "not_your_offer"
    assert offer_kinds(hub, journey_id) == ["offer_made"]
    sam = make_hub("sam", "device-s")  # Southcare's own
    sam.offers.ask(offer_id, "Is there a key safe?")
    sam.offers.accept(offer_id, date(2026, 11, 25))
    assert offer_kinds(hub, journey_id) == ["offer_made", "offer_question", "offer_accepted"]


def test_a_second_open_offer_to_the_same_service_is_refused(hub: Hub) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    hub.offers.make(journey_id, "reablement-north")
    with pytest.raises(OfferRefused) as refused:
        hub.offers.make(journey_id, "reablement-north")
    assert refused.value.reason == "already_offered"


def test_accepting_moves_the_card_only_when_the_flow_says_so(
    make_hub: Callable[..., Hub],
) -> None:
    hub = make_hub()
    two_providers(hub)
    journey_id = on_p1(hub)
    hub.flow = replace(load_flow(), offers=OfferRules(accept_moves_to="on_p1"))
    offer_id = hub.offers.make(journey_id, "reablement-north").event.event_id
    change = hub.offers.accept(offer_id, date(2026, 11, 24))
    assert change.card.column == "on_p1"
    # The timeline: offer → answer → move, each its own event.
    kinds = [str(e.kind) for e in hub.store.events(journey_id)][-3:]
    assert kinds == ["offer_made", "offer_accepted", "moved"]


def test_the_offer_clock_turns_amber_at_two_hours_and_red_at_four(
    hub: Hub, clock: FrozenClock
) -> None:
    two_providers(hub)
    journey_id = on_p1(hub)
    hub.offers.make(journey_id, "reablement-north")
    levels = []
    for minutes in (119, 1, 119, 1):  # 1h59, 2h00, 3h59, 4h00 after the offer
        clock.advance(minutes=minutes)
        (view,) = hub.offers.list()
        levels.append(view.level)
    assert levels == [Level.OK, Level.AMBER, Level.AMBER, Level.RED]
    card = hub.store.card(journey_id)
    assert offer_mark(card.offer, card.offer_service, clock()) == "→ Reablement North ?4h"
    stuck = hub.stuck(card)
    assert stuck.level is Level.RED
    assert "offer to Reablement North unanswered for 4h 00m (red after 4h 00m)" in stuck.reasons


def test_offer_commands_on_a_journey_that_does_not_exist_are_refused(hub: Hub) -> None:
    two_providers(hub)
    head = hub.head_position()
    with pytest.raises(D2AError, match="no journey"):
        hub.offers.make("00000000-0000-4000-8000-000000000000", "reablement-north")
    assert hub.head_position() == head
