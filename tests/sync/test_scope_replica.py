"""A replica holds only what its user may see: read from its database file, after offers,
answers, a user moved to another locality, and the 14 days after a journey closes."""

from __future__ import annotations

from pathlib import Path

from d2a_tui.domain.events import EventKind
from d2a_tui.sync import admin
from tests.sync.conftest import SyncEnv, nhs, refer
from tests.sync.scope_support import (
    add_service,
    answer,
    file_text,
    offer,
    replica_journeys,
    serve_on_clock,
)

PEOPLE = {1: "Alice Ames", 2: "Bob Burns", 3: "Cara Cole", 4: "Dan Dale"}


def _world(env: SyncEnv) -> dict[int, str]:
    hub = env.direct("hub.coordinator")
    localities = {1: "North", 2: "North", 3: "South", 4: "South"}
    journeys = {
        serial: refer(hub, serial, name=name, locality=localities[serial])
        for serial, name in PEOPLE.items()
    }
    hub.add_note(journeys[1], "hub only: the daughter holds the keys")
    add_service(env.engine, "reable.north", "care.co")
    add_service(env.engine, "other.home", "other.co")
    return journeys


def _file(env: SyncEnv, name: str) -> Path:
    return env.tmp / f"{name}.db"


def _people_in(path: Path) -> set[int]:
    text = file_text(path)
    return {s for s, name in PEOPLE.items() if name in text or nhs(s) in text}


def test_a_providers_replica_holds_exactly_the_people_offered_to_it(sync_env: SyncEnv) -> None:
    journeys = _world(sync_env)
    at = sync_env.clock()
    first = offer(sync_env.engine, sync_env.flow, journeys[1], "reable.north", at, note="P1 Thu")
    second = offer(sync_env.engine, sync_env.flow, journeys[2], "reable.north", at)
    offer(sync_env.engine, sync_env.flow, journeys[3], "other.home", at, note="for Other Co")
    sync_env.user("pat", "provider", "care.co")
    provider = sync_env.replica("pat", "provider", role="provider")
    provider.sync.sync_now(wait=True)
    path = _file(sync_env, "provider")
    assert replica_journeys(provider) == {journeys[1], journeys[2]}
    assert _people_in(path) == {1, 2}
    text = file_text(path)
    assert "P1 Thu" in text  # its own offer's note
    assert "daughter" not in text and "for Other Co" not in text and "other.home" not in text

    # One accepted, one declined: the declined person leaves the provider's file.
    answer(sync_env.engine, sync_env.flow, journeys[1], first, EventKind.OFFER_ACCEPTED, at)
    answer(sync_env.engine, sync_env.flow, journeys[2], second, EventKind.OFFER_DECLINED, at)
    provider.sync.sync_now(wait=True)
    assert replica_journeys(provider) == {journeys[1]}
    assert _people_in(path) == {1}


def test_a_user_moved_to_another_locality_forgets_the_old_one_and_gets_the_new(
    sync_env: SyncEnv,
) -> None:
    journeys = _world(sync_env)
    admin.add_user(sync_env.engine, "Cora", "coordinator", None, "cora", ["North"])
    cora = sync_env.replica("cora", "cora", role="coordinator")
    cora.sync.sync_now(wait=True)
    assert replica_journeys(cora) == {journeys[1], journeys[2]}
    admin.set_user(sync_env.engine, "cora", localities=["South"])
    cora.sync.sync_now(wait=True)  # nothing new on the server: the scope alone changed
    assert replica_journeys(cora) == {journeys[3], journeys[4]}
    assert _people_in(_file(sync_env, "cora")) == {3, 4}


def test_a_user_given_every_locality_gets_the_journeys_it_never_held(sync_env: SyncEnv) -> None:
    # No locality means every locality: South's people, never sent to this device and unchanged
    # since, must come with the next pull (the scope grew though nothing on the server moved).
    journeys = _world(sync_env)
    admin.add_user(sync_env.engine, "Cora", "coordinator", None, "cora", ["North"])
    cora = sync_env.replica("cora", "cora", role="coordinator")
    cora.sync.sync_now(wait=True)
    assert replica_journeys(cora) == {journeys[1], journeys[2]}
    admin.set_user(sync_env.engine, "cora", localities=[])
    cora.sync.sync_now(wait=True)
    assert replica_journeys(cora) == set(journeys.values())
    assert _people_in(_file(sync_env, "cora")) == {1, 2, 3, 4}


def test_an_accepted_journey_stays_fourteen_days_after_it_closes(sync_env: SyncEnv) -> None:
    serve_on_clock(sync_env)
    journeys = _world(sync_env)
    at = sync_env.clock()  # 2026-11-23 09:30 UTC, a Monday in London
    taken = offer(sync_env.engine, sync_env.flow, journeys[1], "reable.north", at)
    answer(sync_env.engine, sync_env.flow, journeys[1], taken, EventKind.OFFER_ACCEPTED, at)
    sync_env.direct("hub.coordinator").close_journey(journeys[1], "home_independent")
    sync_env.user("pat", "provider", "care.co")
    provider = sync_env.replica("pat", "provider", role="provider")
    provider.sync.sync_now(wait=True)
    assert replica_journeys(provider) == {journeys[1]}
    # Closed on 23 November: held through 7 December (23 + 14), gone on the 8th.
    sync_env.clock.advance(days=14, hours=13)  # 7 December 23:00 in London
    provider.sync.sync_now(wait=True)
    assert replica_journeys(provider) == {journeys[1]}
    sync_env.clock.advance(hours=2)  # 8 December 01:00
    provider.sync.sync_now(wait=True)
    assert replica_journeys(provider) == set()
    assert _people_in(_file(sync_env, "provider")) == set()
