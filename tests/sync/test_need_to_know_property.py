"""The allow-list as an invariant (issue 22): for random histories — hub changes, ADT corrections,
offers, and events carrying keys no command writes yet — and every role, no response of the real
server (pull, snapshot, push receipt, conflict) and no board of a user's localities carries a
field outside the role's list in `domain/need_to_know.py`, nor any text the role may not read."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d2a_tui.domain import need_to_know
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import EventKind
from d2a_tui.storage.journeys import JourneyStore
from d2a_tui.sync.protocol import SeenField
from tests.sync.conftest import SyncEnv, nhs, refer
from tests.sync.scope_support import append, offer
from tests.sync.test_need_to_know import _patient_of
from tests.sync.test_protocol import Device, client
from tests.sync.test_scope_endpoints import build

SEEN_FIELDS = sorted(SeenField.__args__)  # what a change may say it saw
# Texts only a full view may read: notes, earlier names, acknowledgement reasons, offer notes.
HIDDEN_TEXT = {"provider", "initials", "figures"}

step = st.one_of(
    st.tuples(st.just("note"), st.integers(0, 2)),
    st.tuples(st.just("delay"), st.integers(0, 2), st.sampled_from(["MED", "EQUIP", "TRANS"])),
    st.tuples(st.just("assign"), st.integers(0, 2)),
    st.tuples(st.just("ward"), st.integers(0, 2)),
    st.tuples(st.just("ack"), st.integers(0, 2)),
    st.tuples(st.just("demographics"), st.integers(0, 2)),
    st.tuples(
        st.just("move"), st.integers(0, 2), st.sampled_from(["triage", "await_p1", "closed"])
    ),
    st.tuples(st.just("offer"), st.integers(0, 2), st.sampled_from(["reable.north", "other.home"])),
    st.tuples(
        st.just("stray"),
        st.integers(0, 2),
        st.sampled_from(
            [EventKind.NOTE_ADDED, EventKind.DELAY_SET, EventKind.WARD_SET, EventKind.ASSIGNED]
        ),
    ),
    st.tuples(st.just("refer"), st.sampled_from(["North", "South"])),
)
probe = st.tuples(
    st.sampled_from(["coordinator", "night", "provider"]),
    st.integers(0, 2),
    st.sampled_from(SEEN_FIELDS),
)


def _within(fields: Mapping[str, Any], payload: Mapping[str, Any], where: str) -> None:
    for key, value in payload.items():
        assert key in fields, f"{where}: {key} is not on the list"
        rule = fields[key]
        if isinstance(rule, Mapping) and value is not None:
            assert isinstance(value, Mapping)
            _within(rule, value, f"{where}.{key}")


def _check_events(view: str, events: list[dict[str, Any]]) -> None:
    for event in events:
        if event["kind"] == "withheld":
            assert event["payload"] == {}
            continue
        fields = need_to_know.ALLOWED[view].get(EventKind(event["kind"]))
        assert fields is not None, f"{view} was sent a {event['kind']}"
        _within(fields, event["payload"], f"{view} {event['kind']}")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(step, min_size=1, max_size=14), probes=st.lists(probe, max_size=4))
async def test_no_response_carries_a_field_outside_the_roles_list(
    sync_env_factory: Callable[[str], SyncEnv],
    tmp_path: Path,
    history: list[tuple[Any, ...]],
    probes: list[tuple[str, int, str]],
) -> None:
    # One server for all the examples (a database and five enrolled devices each would be
    # most of the time): each history adds to what the earlier ones left.
    if tmp_path not in _worlds:
        env = sync_env_factory(f"sqlite:///{tmp_path / 'server.db'}")
        _worlds[tmp_path] = (env, build(env))
    env, world = _worlds[tmp_path]
    desk = env.direct("hub.coordinator")
    journeys = [world.north_a, world.north_b, world.south]
    secrets: set[str] = set()
    for kind, *args in history:
        token = f"tok{next(_tokens)}x"
        journey = journeys[args[0]] if isinstance(args[0], int) else None
        try:
            if kind == "note":
                desk.add_note(journey, f"note {token}")
                secrets.add(token)
            elif kind == "delay":
                desk.set_delay(journey, args[1])
            elif kind == "assign":
                desk.assign(journey, f"user.{token}")
            elif kind == "ward":
                desk.set_ward(journey, f"Ward {token}", "B1")
            elif kind == "ack":
                desk.acknowledge(journey, f"because {token}")
                secrets.add(token)
            elif kind == "move":
                desk.move(journey, args[1])
            elif kind == "offer":
                offer(env.engine, env.flow, journey, args[1], env.clock(), note=f"o {token}")
                if args[1] == "other.home":
                    secrets.add(token)  # even the provider it went to is not this one
            elif kind == "demographics":
                patient = _patient_of(env, journey)
                payload = {
                    "patient_id": patient,
                    "name": "Changed Name",
                    "date_of_birth": "1941-05-06",
                    "previous_name": f"Was {token}",
                    "previous_date_of_birth": "1930-01-01",
                }
                append(
                    env.engine,
                    env.flow,
                    journey,
                    EventKind.DEMOGRAPHICS_UPDATED,
                    payload,
                    env.clock(),
                )
                secrets.add(token)
            elif kind == "stray":
                # A key no command writes today (a later version's, say): nobody receives it.
                base = {
                    EventKind.NOTE_ADDED: {"text": "x"},
                    EventKind.DELAY_SET: {"code": "MED", "previous": None},
                    EventKind.WARD_SET: {"ward": "W", "bed": None},
                    EventKind.ASSIGNED: {"to": None, "previous": None},
                }[args[1]]
                append(
                    env.engine,
                    env.flow,
                    journey,
                    args[1],
                    {**base, f"zz_{token}": token},
                    env.clock(),
                )
                secrets.add(token)
            elif kind == "refer":
                journeys.append(refer(desk, next(_serials), locality=args[0]))
        except D2AError:
            pass  # a rule refused it: the history goes on

    async with client(env) as http:
        for role, device in world.devices.items():
            view = need_to_know.view_of(role)
            pulled = await http.get("/v1/sync/pull", params={"since": 0}, headers=device.auth)
            snapshot = await http.get("/v1/sync/snapshot", headers=device.auth)
            for answer in (pulled, snapshot):
                assert answer.status_code == 200
                _check_events(view, answer.json()["events"])
                assert "zz_" not in answer.text
                if view in HIDDEN_TEXT:
                    for token in secrets:
                        assert token not in answer.text, (role, token)
        for role, index, name in probes:
            device: Device = world.devices[role]
            journey = journeys[index]
            if role == "provider":
                offers = [
                    e
                    for e in (
                        await http.get("/v1/sync/pull", params={"since": 0}, headers=device.auth)
                    ).json()["events"]
                    if e["kind"] == "offer_made" and e["journey_id"] == journey
                ]
                if not offers:
                    continue
                args = {"offer_id": offers[0]["payload"]["offer_id"], "text": "when?"}
                change = device.mutation(
                    "ask_offer", journey, args=args, seen={name: "guess"}, want={name: "guess"}
                )
            else:
                change = device.mutation(
                    "add_note", journey, args={"text": "x"}, seen={name: "guess"}
                )
            answer = await http.post("/v1/sync/push", json=device.body(change), headers=device.auth)
            assert answer.status_code == 200
            view = need_to_know.view_of(role)
            for receipt in answer.json()["receipts"]:
                theirs = receipt.get("theirs") or {}
                assert set(theirs.get("values", {})) <= need_to_know.JOURNEY_FIELDS[view]
                if theirs.get("kind"):
                    assert need_to_know.visible_kind(view, theirs["kind"])

    # The board of a user of North (the browser's board runs on this store).
    store = JourneyStore(env.engine, env.flow)
    store.localities = frozenset({"North"})
    north = {card.journey_id for card in JourneyStore(env.engine, env.flow).open_cards()}
    shown = {card.journey_id for card in store.open_cards()}
    assert world.south not in shown and shown <= north
    assert all(card.journey_id != world.south for card in store.cards_changed_since(0))
    assert nhs(3) not in repr(store.open_cards())


_worlds: dict[Path, tuple[SyncEnv, Any]] = {}
_tokens = itertools.count()
_serials = itertools.count(20)
