"""Need-to-know on the real in-process server: every role against every endpoint, allowed and
refused, what each role's events look like, and the refusals in the audit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from d2a_tui.storage.audit import access_table
from d2a_tui.sync import admin
from tests.sync.conftest import SyncEnv, event_count, nhs, refer
from tests.sync.scope_support import add_service, offer
from tests.sync.test_protocol import Device, client


@dataclass
class World:
    north_a: str  # offered to Care Co's service
    north_b: str  # offered to another provider
    south: str
    devices: dict[str, Device]


def build(env: SyncEnv) -> World:
    hub = env.direct("hub.coordinator")
    north_a = refer(hub, 1, locality="North", name="Alice Ames")
    north_b = refer(hub, 2, locality="North", name="Bob Burns")
    south = refer(hub, 3, locality="South", name="Cara Cole")
    hub.add_note(north_a, "hub only: family row about keys")
    add_service(env.engine, "reable.north", "care.co")
    add_service(env.engine, "other.home", "other.co")
    offer(env.engine, env.flow, north_a, "reable.north", env.clock(), note="for Care Co")
    offer(env.engine, env.flow, north_b, "other.home", env.clock(), note="for Other Co")
    devices = {
        "coordinator": Device(env, "cora", "coordinator"),
        "night": Device(env, "nico", "night"),
        "provider": Device(env, "pat", "provider", "care.co"),
        "manager": Device(env, "mags", "manager"),
        "viewer": Device(env, "vic", "viewer"),
    }
    for user in ("cora", "nico", "vic"):
        admin.set_user(env.engine, user, localities=["North"])
    return World(north_a, north_b, south, devices)


# What each role may read: the journeys its pull and snapshot hold.
READS = {
    "coordinator": {"north_a", "north_b"},
    "night": {"north_a", "north_b"},
    "provider": {"north_a"},
    "manager": {"north_a", "north_b", "south"},
    "viewer": {"north_a", "north_b"},
}
# What each role's note on each journey comes back as (the role rule first, then scope).
WRITES = {
    "coordinator": {"north_a": "applied", "south": "out_of_scope"},
    "night": {"north_a": "applied", "south": "out_of_scope"},
    "provider": {"north_a": "forbidden", "south": "forbidden"},
    "manager": {"north_a": "forbidden", "south": "forbidden"},
    "viewer": {"north_a": "forbidden", "south": "forbidden"},
}
ROLES = sorted(READS)


def ids(world: World, names: set[str]) -> set[str]:
    return {getattr(world, name) for name in names}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ["pull", "snapshot", "snapshot_one", "push", "me"])
async def test_every_role_on_every_endpoint(
    any_sync_env: SyncEnv, role: str, endpoint: str
) -> None:
    world = build(any_sync_env)
    device = world.devices[role]
    allowed = ids(world, READS[role])
    async with client(any_sync_env) as http:
        if endpoint == "me":
            answer = await http.get("/v1/me", headers=device.auth)
            assert answer.status_code == 200 and answer.json()["role"] == role
        elif endpoint == "pull":
            answer = await http.get("/v1/sync/pull", params={"since": 0}, headers=device.auth)
            assert answer.status_code == 200
            assert {e["journey_id"] for e in answer.json()["events"]} == allowed
        elif endpoint == "snapshot":
            answer = await http.get("/v1/sync/snapshot", headers=device.auth)
            assert answer.status_code == 200
            assert {e["journey_id"] for e in answer.json()["events"]} == allowed
        elif endpoint == "snapshot_one":
            for name in ("north_a", "north_b", "south"):
                journey = getattr(world, name)
                answer = await http.get(
                    "/v1/sync/snapshot", params={"journey_id": journey}, headers=device.auth
                )
                if journey in allowed:
                    assert answer.status_code == 200, name
                    assert {e["journey_id"] for e in answer.json()["events"]} == {journey}
                else:
                    assert (answer.status_code, answer.json()["error"]) == (404, "not_in_scope")
                    assert set(answer.json()) == {"error", "detail"}
        else:
            before = event_count(any_sync_env.engine)
            notes = [device.mutation("add_note", world.north_a, args={"text": "seen"})]
            notes.append(device.mutation("add_note", world.south, args={"text": "seen"}))
            answer = await http.post("/v1/sync/push", json=device.body(*notes), headers=device.auth)
            assert answer.status_code == 200
            got = {
                name: receipt["outcome"] if receipt["outcome"] == "applied" else receipt["reason"]
                for name, receipt in zip(
                    ("north_a", "south"), answer.json()["receipts"], strict=True
                )
            }
            assert got == WRITES[role]
            applied = sum(outcome == "applied" for outcome in got.values())
            assert event_count(any_sync_env.engine) == before + applied


async def test_a_guessed_journey_id_is_refused_like_a_real_one_and_both_are_audited(
    sync_env: SyncEnv,
) -> None:
    world = build(sync_env)
    provider = world.devices["provider"]
    guessed = "0190aaaa-0000-7000-8000-000000000000"
    async with client(sync_env) as http:
        real = await http.get(
            "/v1/sync/snapshot", params={"journey_id": world.south}, headers=provider.auth
        )
        made_up = await http.get(
            "/v1/sync/snapshot", params={"journey_id": guessed}, headers=provider.auth
        )
    assert real.status_code == made_up.status_code == 404
    assert real.json() == made_up.json()
    with sync_env.engine.connect() as connection:
        refusals = connection.execute(
            select(access_table.c.user_id, access_table.c.journey_id, access_table.c.reason)
            .where(access_table.c.outcome == "refused")
            .order_by(access_table.c.at, access_table.c.journey_id)
        ).all()
    assert sorted(refusals) == sorted(
        [("pat", world.south, "not_in_scope"), ("pat", guessed, "not_in_scope")]
    )


async def test_an_out_of_scope_change_is_refused_nothing_stored_and_audited(
    sync_env: SyncEnv,
) -> None:
    world = build(sync_env)
    cora = world.devices["coordinator"]
    before = event_count(sync_env.engine)
    note = cora.mutation("add_note", world.south, args={"text": "x"})
    south_referral = cora.referral(serial=9)
    south_referral["args"]["patient"]["locality"] = "South"
    async with client(sync_env) as http:
        answer = await http.post(
            "/v1/sync/push", json=cora.body(note, south_referral), headers=cora.auth
        )
    reasons = [receipt["reason"] for receipt in answer.json()["receipts"]]
    assert reasons == ["out_of_scope", "out_of_scope"]
    assert event_count(sync_env.engine) == before
    with sync_env.engine.connect() as connection:
        audited = connection.execute(
            select(access_table.c.purpose, access_table.c.reason).where(
                access_table.c.user_id == "cora"
            )
        ).all()
    assert audited == [("push", "out_of_scope"), ("refer", "out_of_scope")]


def _pulled(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200
    return answer.json()["events"]


async def test_each_role_sees_only_its_fields(sync_env: SyncEnv) -> None:
    world = build(sync_env)
    pulled: dict[str, list[dict[str, Any]]] = {}
    async with client(sync_env) as http:
        for role, device in world.devices.items():
            pulled[role] = _pulled(
                await http.get("/v1/sync/pull", params={"since": 0}, headers=device.auth)
            )

    def referral(role: str, journey: str) -> dict[str, Any]:
        return next(
            e["payload"] for e in pulled[role] if e["journey_id"] == journey and e["seq"] == 1
        )

    # The provider: the person and where they are, its own offer and its note; no hub note.
    provider = pulled["provider"]
    patient = referral("provider", world.north_a)["patient"]
    assert (patient["name"], patient["nhs_number"]) == ("Alice Ames", nhs(1))
    kinds = [e["kind"] for e in provider]
    assert kinds == ["referred", "withheld", "offer_made"]
    assert provider[2]["payload"]["note"] == "for Care Co"
    assert "family row" not in repr(provider)
    # The viewer: initials, no NHS number, the year of birth only; no note text.
    viewer = referral("viewer", world.north_b)["patient"]
    assert (viewer["name"], viewer["date_of_birth"]) == ("B B", "1941-01-01")
    assert viewer["nhs_number"] != nhs(2) and not viewer["nhs_number"].isdigit()
    # The manager: no name, no NHS number, no ward, no text anywhere.
    text = repr(pulled["manager"])
    for secret in ("Alice", "Bob", "Cara", nhs(1), nhs(2), nhs(3), "Ward 7", "family", "for "):
        assert secret not in text
    assert len({e["journey_id"] for e in pulled["manager"]}) == 3
    # Coordinators see everything of their localities.
    assert "family row" in repr(pulled["coordinator"])


async def test_the_request_log_names_device_user_endpoint_status_and_count_never_a_person(
    sync_env: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    world = build(sync_env)
    provider = world.devices["provider"]
    caplog.set_level(logging.INFO, logger="d2a.sync.server")
    async with client(sync_env) as http:
        await http.get("/v1/sync/snapshot", headers=provider.auth)
        await http.get(
            "/v1/sync/snapshot", params={"journey_id": world.south}, headers=provider.auth
        )
        await http.get("/v1/sync/pull", params={"since": 0}, headers=world.devices["manager"].auth)
    lines = [
        (f.get("device"), f.get("user"), f["method"], f["endpoint"], f["status"], f.get("journeys"))
        for f in (getattr(r, "fields", None) for r in caplog.records if r.getMessage() == "request")
        if f is not None
    ]
    device, manager = provider.device_id[-12:], world.devices["manager"].device_id[-12:]
    assert lines == [
        (device, "pat", "GET", "/v1/sync/snapshot", 200, 1),
        (device, "pat", "GET", "/v1/sync/snapshot", 404, None),  # refused: nothing returned
        (manager, "mags", "GET", "/v1/sync/pull", 200, 3),
    ]
    logged = caplog.text
    for secret in ("Alice", "Bob", "Cara", nhs(1), nhs(2), nhs(3), world.south):
        assert secret not in logged
