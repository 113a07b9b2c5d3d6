"""Offers through the server: the hub offers two people to a provider and a third to another;
the provider's replica holds only its own two (scope: it never receives the third, so it cannot
even name that offer), answers them, may not make an offer, and the hub sees both answers within
one sync. On SQLite and PostgreSQL. (The server's refusal of a push to a journey outside the
writer's scope is tests/sync/test_scope_endpoints.py's; of an answer to another provider's offer,
tests/offers/test_offer_rules.py's.)"""

from __future__ import annotations

from datetime import date

import pytest

from d2a_tui.domain.errors import NotAllowed, NotFound
from tests.offers.conftest import on_p1, two_providers
from tests.sync.conftest import SyncEnv
from tests.sync.scope_support import replica_journeys


def test_a_provider_replica_answers_its_offers_and_the_hub_sees_both_answers(
    any_sync_env: SyncEnv,
) -> None:
    env = any_sync_env
    console = env.direct()
    two_providers(console)  # users nora (Northcare) and sam (Southcare); their services
    env.user("cole", "coordinator")
    cole = env.replica("cole", role="coordinator")
    cole.sync.sync_now(wait=True)
    first, second = on_p1(cole, 1), on_p1(cole, 2)
    south = on_p1(cole, 3)
    offer_a = cole.offers.make(first, "reablement-north").event.event_id
    offer_b = cole.offers.make(second, "reablement-north").event.event_id
    offer_c = cole.offers.make(south, "home-care-south").event.event_id
    cole.sync.sync_now(wait=True)
    assert cole.sync.sync_status().pending == 0  # the server took all three offers

    nora = env.replica("nora", role="provider")
    nora.sync.sync_now(wait=True)
    assert replica_journeys(nora) == {first, second}  # not Southcare's person
    with pytest.raises(NotAllowed, match="making and withdrawing them is the hub's"):
        nora.offers.make(first, "home-care-south")
    nora.offers.accept(offer_a[-8:], date(2026, 11, 25))
    nora.offers.decline(offer_b[-8:], "no_capacity")
    with pytest.raises(NotFound):  # Southcare's offer never reached this replica
        nora.offers.accept(offer_c[-8:], date(2026, 11, 25))
    nora.sync.sync_now(wait=True)
    assert nora.sync.sync_status().pending == 0 and not nora.sync.conflicts()  # both answers taken

    cole.sync.sync_now(wait=True)
    answers = {v.offer.offer_id: (v.offer.status, v.offer.reason) for v in cole.offers.list()}
    assert answers == {
        offer_a: ("accepted", None),
        offer_b: ("declined", "no_capacity"),
        offer_c: ("open", None),
    }


def test_a_provider_replica_opens_as_a_provider_and_a_coordinators_does_not(
    any_sync_env: SyncEnv,
) -> None:
    # A replica holds no user rows: the login is what says the role, and so which board opens.
    env = any_sync_env
    two_providers(env.direct())
    env.user("cole", "coordinator")
    assert env.replica("nora", role="provider").offers.is_provider()
    assert not env.replica("cole", role="coordinator").offers.is_provider()


def test_the_adt_feed_refuses_a_replica(any_sync_env: SyncEnv) -> None:
    # The feed changes patient rows that only the shared database holds.
    from d2a_tui.cli.adt import _feed
    from d2a_tui.domain.errors import InvalidInput

    env = any_sync_env
    env.user("cole", "coordinator")
    with pytest.raises(InvalidInput, match="shared database"):
        _feed(env.replica("cole", role="coordinator"))
