"""Issue 22, against the real in-process server on SQLite and PostgreSQL: each role receives
exactly the fields of the allow-list (domain/need_to_know.py), nothing through a conflict, no
oracle on who is on record, no ADT-only command from a device, and every read and every refusal
in the audit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from d2a_tui.domain.events import EventKind
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.storage.audit import access_table
from d2a_tui.sync.ingest import GUESSES
from tests.sync.conftest import SyncEnv, event_count, nhs, refer
from tests.sync.scope_support import add_service, append
from tests.sync.test_protocol import NOW, Device, client
from tests.sync.test_scope_endpoints import World, build


def _secrets_events(env: SyncEnv, world: World) -> None:
    """ADT corrections and an acknowledgement on a North journey: what the hospital and the hub
    knew before, which viewers and managers have no need of."""
    at = env.clock()
    append(
        env.engine,
        env.flow,
        world.north_b,
        EventKind.DEMOGRAPHICS_UPDATED,
        {
            "patient_id": _patient_of(env, world.north_b),
            "name": "Bob Burns",
            "date_of_birth": "1941-05-06",
            "previous_name": "Robert Oldname",
            "previous_date_of_birth": "1940-02-29",
        },
        at,
        actor="adt.feed",
    )
    append(
        env.engine,
        env.flow,
        world.north_b,
        EventKind.WARD_SET,
        {"ward": "Ward 9", "bed": "C1", "previous_ward": "Ward 7", "previous_bed": "B3"},
        at,
    )
    append(
        env.engine,
        env.flow,
        world.north_b,
        EventKind.ALERT_ACKNOWLEDGED,
        {"until": None, "reason": "daughter Jane says the key safe code is 4471"},
        at,
    )
    # The hospital found Bob on record twice: his journey moves to the other record.
    twin = refer(env.direct("hub.coordinator"), 8, locality="North", name="Bob Burns")
    append(
        env.engine,
        env.flow,
        world.north_b,
        EventKind.PATIENT_MERGED,
        {
            "patient": {
                "id": _patient_of(env, twin),
                "nhs_number": nhs(8),
                "name": "Bob Burns",
                "date_of_birth": "1941-05-06",
                "locality": "North",
                "existing": True,
            },
            "previous_patient_id": _patient_of(env, world.north_b),
            "previous_nhs_number": nhs(2),
        },
        at,
        actor="adt.feed",
    )


def _patient_of(env: SyncEnv, journey: str) -> str:
    from d2a_tui.storage.journeys import journey_table

    with env.engine.connect() as connection:
        return str(
            connection.execute(
                select(journey_table.c.patient_id).where(journey_table.c.id == journey)
            ).scalar_one()
        )


async def _reads(env: SyncEnv, device: Device) -> str:
    async with client(env) as http:
        pulled = await http.get("/v1/sync/pull", params={"since": 0}, headers=device.auth)
        snapshot = await http.get("/v1/sync/snapshot", headers=device.auth)
    assert pulled.status_code == snapshot.status_code == 200
    return pulled.text + snapshot.text


@pytest.mark.parametrize("role", ["viewer", "manager"])
async def test_viewers_and_managers_never_receive_who_the_person_was_or_acknowledgement_text(
    any_sync_env: SyncEnv, role: str
) -> None:
    world = build(any_sync_env)
    _secrets_events(any_sync_env, world)
    text = await _reads(any_sync_env, world.devices[role])
    for secret in ("Oldname", "1940-02-29", nhs(2), "key safe", "4471"):
        assert secret not in text, secret
    assert "previous_name" not in text and "previous_nhs_number" not in text
    if role == "manager":
        assert "Ward 7" not in text and "Ward 9" not in text and "previous_ward" not in text
    # The coordinator of North still reads all of it: the cut is the role's, not the data's.
    full = await _reads(any_sync_env, world.devices["coordinator"])
    for secret in ("Oldname", "1940-02-29", "4471"):
        assert secret in full


async def test_a_provider_cannot_read_a_withheld_field_through_a_conflict(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    hub = any_sync_env.direct("hub.coordinator")
    hub.set_delay(world.north_a, "EQUIP")
    hub.assign(world.north_a, "hub.secret.assignee")
    provider = world.devices["provider"]
    async with client(any_sync_env) as http:
        pulled = (
            await http.get("/v1/sync/pull", params={"since": 0}, headers=provider.auth)
        ).json()
        offer_id = next(e for e in pulled["events"] if e["kind"] == "offer_made")["payload"][
            "offer_id"
        ]
        probes = [
            provider.mutation(
                "ask_offer",
                world.north_a,
                args={"offer_id": offer_id, "text": "when?"},
                seen={name: "guess"},
                want={name: "guess"},
            )
            for name in ("delay_reason", "expected_discharge_date", "assigned_to")
        ]
        merged = provider.mutation(
            "ask_offer",
            world.north_a,
            args={"offer_id": offer_id, "text": "when?"},
            seen={"delay_reason": "MED"},
            want={"delay_reason": "EQUIP"},
        )
        answer = await http.post(
            "/v1/sync/push", json=provider.body(*probes, merged), headers=provider.auth
        )
    assert answer.status_code == 200
    receipts = answer.json()["receipts"]
    assert [r["reason"] for r in receipts] == ["forbidden"] * 4
    for secret in ("EQUIP", "hub.secret.assignee", "delay_set"):
        assert secret not in answer.text


def test_a_conflict_receipt_names_only_what_the_role_reads() -> None:
    from d2a_tui.sync import outbound
    from d2a_tui.sync.protocol import Receipt, Theirs

    theirs = Theirs(
        actor="hub.coordinator",
        kind="delay_set",
        version=4,
        values={"column": "triage", "delay_reason": "EQUIP", "ward": "Ward 7"},
    )
    receipt = Receipt(
        mutation_id=uuid7(), client_seq=1, outcome="conflict", reason="changed_since", theirs=theirs
    )
    (provider,) = outbound.receipts([receipt], "provider")
    assert provider.theirs is not None
    assert provider.theirs.values == {"column": "triage", "ward": "Ward 7"}
    assert provider.theirs.kind is None
    (manager,) = outbound.receipts([receipt], "manager")
    assert manager.theirs is not None and "ward" not in manager.theirs.values
    (coordinator,) = outbound.receipts([receipt], "coordinator")
    assert coordinator.theirs == theirs


# --- no oracle ------------------------------------------------------------------------------------


def _refer(device: Device, number: str, locality: str, born: str = "1941-05-06") -> dict[str, Any]:
    patient = {
        "nhs_number": number,
        "name": "Guess Person",
        "date_of_birth": born,
        "locality": locality,
    }
    return device.mutation("refer", new_journey_id(), args={"patient": patient})


def _answer(receipt: dict[str, Any]) -> tuple[Any, ...]:
    return (receipt["outcome"], receipt["reason"], receipt["message"], receipt.get("theirs"))


async def test_a_referral_outside_ones_scope_says_the_same_whether_or_not_the_person_exists(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    cora = world.devices["coordinator"]  # serves North; Cara Cole (nhs 3) is South's, open
    before = event_count(any_sync_env.engine)
    guesses = [
        _refer(cora, nhs(3), "South"),  # on record, claimed where she is
        _refer(cora, nhs(30), "South"),  # nobody
        _refer(cora, nhs(3), "North"),  # on record elsewhere, claimed in scope
        _refer(cora, nhs(3), "North", born="1941-05-07"),  # ... with a wrong date of birth
        _refer(cora, nhs(3), "North", born="1950-01-01"),
    ]
    async with client(any_sync_env) as http:
        answer = await http.post("/v1/sync/push", json=cora.body(*guesses), headers=cora.auth)
    assert answer.status_code == 200
    receipts = answer.json()["receipts"]
    assert {_answer(r) for r in receipts} == {
        ("rejected", "out_of_scope", "this person is outside your scope", None)
    }
    # Ids are random hex: "1941" can turn up inside one by chance, so the answer is read
    # without the ids that d2a itself made (the mutations' and the new journeys').
    said = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", answer.text)
    assert world.south not in answer.text and world.south[:8] not in said and "1941" not in said
    assert event_count(any_sync_env.engine) == before
    with any_sync_env.engine.connect() as connection:
        audited = connection.execute(
            select(access_table.c.purpose, access_table.c.reason).where(
                access_table.c.user_id == "cora"
            )
        ).all()
    assert audited == [("refer", "out_of_scope")] * len(guesses)


async def test_guessing_at_referrals_is_slowed_after_a_few_refusals(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    cora = world.devices["coordinator"]
    guesses = [_refer(cora, nhs(3), "South") for _ in range(GUESSES)]
    honest = _refer(cora, nhs(40), "North")  # in scope, nobody on record: would be applied
    async with client(any_sync_env) as http:
        answer = await http.post(
            "/v1/sync/push", json=cora.body(*guesses, honest), headers=cora.auth
        )
    reasons = [r["reason"] for r in answer.json()["receipts"]]
    assert reasons == ["out_of_scope"] * GUESSES + ["too_many_refusals"]
    any_sync_env.clock.advance(hours=1, minutes=1)
    later = _refer(cora, nhs(40), "North")
    later["occurred_at"] = any_sync_env.clock().isoformat()
    async with client(any_sync_env) as http:
        answer = await http.post("/v1/sync/push", json=cora.body(later), headers=cora.auth)
    assert answer.json()["receipts"][0]["outcome"] == "applied"


@pytest.mark.parametrize(
    ("command", "args"),
    [
        (
            "update_demographics",
            {"name": "Someone Else", "date_of_birth": "1950-01-01"},
        ),
        ("record_hospital_discharge", {"at": "2026-11-23T01:00:00+00:00"}),
        ("record_admission", {"admitted_on": "2026-11-20", "ward": "Ward 1"}),
        (
            "merge_patient",
            {
                "patient": {
                    "id": "p-other",
                    "nhs_number": "9434765919",
                    "name": "X",
                    "date_of_birth": "1950-01-01",
                    "existing": True,
                }
            },
        ),
    ],
)
async def test_commands_only_the_feed_sends_are_refused_to_every_device(
    any_sync_env: SyncEnv, command: str, args: dict[str, Any]
) -> None:
    world = build(any_sync_env)
    before = event_count(any_sync_env.engine)
    for role in ("coordinator", "night"):
        device = world.devices[role]
        change = device.mutation(command, world.north_a, args=args)
        async with client(any_sync_env) as http:
            answer = await http.post("/v1/sync/push", json=device.body(change), headers=device.auth)
        (receipt,) = answer.json()["receipts"]
        assert (receipt["outcome"], receipt["reason"]) == ("rejected", "forbidden")
        assert "feed" in receipt["message"]
    assert event_count(any_sync_env.engine) == before


# --- the audit ------------------------------------------------------------------------------------


def _looks(env: SyncEnv, user: str) -> list[tuple[str, str | None, str, str | None]]:
    with env.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    access_table.c.purpose,
                    access_table.c.journey_id,
                    access_table.c.outcome,
                    access_table.c.reason,
                )
                .where(access_table.c.user_id == user)
                .order_by(access_table.c.purpose, access_table.c.journey_id)
            )
        ]


async def test_pulls_and_snapshots_are_recorded_by_the_server_per_journey_sent(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    cora = world.devices["coordinator"]
    async with client(any_sync_env) as http:
        await http.get("/v1/sync/pull", params={"since": 0}, headers=cora.auth)
        await http.get("/v1/sync/snapshot", headers=cora.auth)
        await http.get("/v1/sync/snapshot", params={"journey_id": world.north_a}, headers=cora.auth)
        head = (await http.get("/v1/sync/pull", params={"since": 0}, headers=cora.auth)).json()
        await http.get("/v1/sync/pull", params={"since": head["next"]}, headers=cora.auth)
    north = sorted([world.north_a, world.north_b])
    expected = sorted(
        [("pull", j, "allowed", None) for j in north] * 2
        + [("snapshot", j, "allowed", None) for j in north]
        + [("snapshot", world.north_a, "allowed", None)]
    )
    assert _looks(any_sync_env, "cora") == expected  # an empty pull records nothing


async def test_refusals_of_role_offer_and_capacity_scope_are_audited(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    provider, cora = world.devices["provider"], world.devices["coordinator"]
    add_service(any_sync_env.engine, "south.beds", "south.co", locality="South")
    async with client(any_sync_env) as http:
        # Another provider's offer on a journey this one can see is not_your_offer; pat needs
        # a journey with both: offer north_a to other.home too.
        from tests.sync.scope_support import offer

        other = offer(any_sync_env.engine, any_sync_env.flow, world.north_a, "other.home", NOW_DT)
        note = provider.mutation("add_note", world.north_a, args={"text": "x"})
        steal = provider.mutation(
            "accept_offer", world.north_a, args={"offer_id": other, "start": "2026-11-24"}
        )
        await http.post("/v1/sync/push", json=provider.body(note, steal), headers=provider.auth)
        cora.seq += 1
        capacity = {
            "kind": "capacity",
            "mutation_id": uuid7(),
            "client_seq": cora.seq,
            "actor": "cora",
            "occurred_at": NOW,
            "report_id": uuid7(),
            "service_id": "south.beds",
            "total": 10,
            "occupied": 2,
        }
        answer = await http.post("/v1/sync/push", json=cora.body(capacity), headers=cora.auth)
    assert answer.json()["receipts"][0]["reason"] == "out_of_scope"
    assert _looks(any_sync_env, "pat") == sorted(
        [
            ("push", world.north_a, "refused", "forbidden"),
            ("push", world.north_a, "refused", "not_your_offer"),
        ]
    )
    assert ("push", None, "refused", "out_of_scope") in _looks(any_sync_env, "cora")


NOW_DT = datetime.fromisoformat(NOW)


def _look(device: Device, journey: str, at: datetime) -> dict[str, Any]:
    device.seq += 1
    return {
        "kind": "access",
        "mutation_id": uuid7(),
        "client_seq": device.seq,
        "actor": device.user,
        "occurred_at": at.isoformat(),
        "journey_id": journey,
        "purpose": "show",
    }


async def test_a_look_is_accepted_only_in_scope_recently_and_a_forged_one_is_audited_refused(
    any_sync_env: SyncEnv,
) -> None:
    world = build(any_sync_env)
    cora = world.devices["coordinator"]
    now = any_sync_env.clock()
    looks = [
        _look(cora, world.north_a, now - timedelta(hours=9)),  # a night offline: fine
        _look(cora, world.south, now),  # another locality's
        _look(cora, "0190aaaa-0000-7000-8000-000000000000", now),  # nobody's
        _look(cora, world.north_b, datetime(2000, 1, 1, tzinfo=UTC)),  # long ago
        _look(cora, world.north_b, now - timedelta(days=30)),
    ]
    async with client(any_sync_env) as http:
        answer = await http.post("/v1/sync/push", json=cora.body(*looks), headers=cora.auth)
    got = [(r["outcome"], r.get("reason")) for r in answer.json()["receipts"]]
    assert got[0] == ("applied", None)
    assert got[1:3] == [("rejected", "not_in_scope")] * 2
    assert got[3:] == [("rejected", "look_too_old")] * 2
    looked = [row for row in _looks(any_sync_env, "cora") if row[2] == "allowed"]
    assert looked == [("show", world.north_a, "allowed", None)]
    refused = sorted(row[3] for row in _looks(any_sync_env, "cora") if row[2] == "refused")
    assert refused == ["look_too_old", "look_too_old", "not_in_scope", "not_in_scope"]


@pytest.mark.parametrize("bad", ["\x00", "%00", "../../etc/passwd", "x" * 300, "0190AAAA-0000"])
async def test_a_malformed_journey_id_is_a_4xx_with_a_reason_and_audited(
    any_sync_env: SyncEnv, bad: str
) -> None:
    world = build(any_sync_env)
    cora = world.devices["coordinator"]
    async with client(any_sync_env) as http:
        answer = await http.get("/v1/sync/snapshot", params={"journey_id": bad}, headers=cora.auth)
    assert (answer.status_code, answer.json()["error"]) == (400, "bad_journey_id")
    assert _looks(any_sync_env, "cora") == [("snapshot", None, "refused", "bad_journey_id")]
    with any_sync_env.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(access_table)).scalar() == 1


def test_a_look_refused_after_the_scope_moved_is_audited_and_not_a_conflict_on_the_replica(
    sync_env: SyncEnv,
) -> None:
    from d2a_tui.sync import admin

    for name in ("North", "South"):
        admin.add_locality(sync_env.engine, name)
    admin.add_user(sync_env.engine, "Cora", "coordinator", None, "cora", localities=["North"])
    desk = sync_env.direct("hub.coordinator")
    journey = refer(desk, 1, locality="North")
    cora = sync_env.replica("cora", "cora", role="coordinator")
    cora.sync.sync_now(wait=True)
    cora.journey(journey, purpose="show")
    admin.set_user(sync_env.engine, "cora", localities=["South"])  # moved before the sync
    cora.sync.sync_now(wait=True)
    assert cora.sync.conflicts(include_resolved=True) == []
    assert ("push", journey, "refused", "not_in_scope") in _looks(sync_env, "cora")
    assert ("show", journey, "allowed", None) not in _looks(sync_env, "cora")
