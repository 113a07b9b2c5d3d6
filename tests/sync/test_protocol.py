"""The wire contract, against the in-process app (httpx.ASGITransport) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.storage.db import SchemaMismatch, make_engine
from d2a_tui.sync import admin
from d2a_tui.sync.ingest import receipt_table
from d2a_tui.sync.server import create_app
from tests.sync.conftest import SyncEnv, event_count, nhs

NOW = datetime(2026, 11, 23, 2, 14, tzinfo=UTC).isoformat()


class Device:
    def __init__(self, env: SyncEnv, user: str, role: str = "night", org: str | None = None):
        env.user(user, role, org)
        self.user = user
        self.device_id, self.token = env.token(user)
        self.seq = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(self, command: str, journey_id: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "kind": "command",
            "mutation_id": uuid7(),
            "client_seq": self.seq,
            "actor": self.user,
            "occurred_at": NOW,
            "command": command,
            "journey_id": journey_id,
            **fields,
        }

    def referral(self, serial: int = 1) -> dict[str, Any]:
        patient = {"nhs_number": nhs(serial), "name": "Test Person", "date_of_birth": "1941-05-06"}
        return self.mutation("refer", new_journey_id(), args={"patient": patient})

    def body(self, *mutations: dict[str, Any]) -> dict[str, Any]:
        return {"schema_version": 1, "device_id": self.device_id, "mutations": list(mutations)}


def client(env: SyncEnv) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url="http://t")


async def test_push_applies_once_and_a_retried_batch_gets_the_same_receipts(
    any_sync_env: SyncEnv,
) -> None:
    device = Device(any_sync_env, "nina")
    refer = device.referral()
    move = device.mutation(
        "move",
        refer["journey_id"],
        args={"to": "triage"},
        seen={"column": "referred"},
        want={"column": "triage"},
    )
    payload = gzip.compress(json.dumps(device.body(refer, move)).encode())
    headers = {**device.auth, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    async with client(any_sync_env) as http:
        first = await http.post("/v1/sync/push", content=payload, headers=headers)
        again = await http.post("/v1/sync/push", content=payload, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["receipts"] == again.json()["receipts"]
    assert [r["outcome"] for r in first.json()["receipts"]] == ["applied", "applied"]
    assert first.json()["next_seq"] == 3
    assert event_count(any_sync_env.engine) == 2


async def test_a_gap_in_client_seq_is_409_with_the_expected_seq_and_nothing_applied(
    any_sync_env: SyncEnv,
) -> None:
    device = Device(any_sync_env, "nina")
    device.seq = 4
    async with client(any_sync_env) as http:
        answer = await http.post(
            "/v1/sync/push", json=device.body(device.referral()), headers=device.auth
        )
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "seq_gap",
        "detail": answer.json()["detail"],
        "expected_seq": 1,
    }
    assert event_count(any_sync_env.engine) == 0


@pytest.mark.parametrize(
    ("mangle", "status", "reason"),
    [
        (lambda d, b: (b"{not json", {"Content-Type": "application/json"}), 400, "malformed_json"),
        (
            lambda d, b: (json.dumps({**b, "schema_version": 99}).encode(), {}),
            400,
            "unknown_schema_version",
        ),
        (
            lambda d, b: (
                json.dumps(
                    {**b, "mutations": [{**b["mutations"][0], "kind": "teleport"}]}
                ).encode(),
                {},
            ),
            422,
            "unknown_mutation_kind",
        ),
        (
            lambda d, b: (
                json.dumps(
                    {**b, "mutations": [{**b["mutations"][0], "command": "delete_all"}]}
                ).encode(),
                {},
            ),
            422,
            "unknown_mutation_kind",
        ),
        (
            lambda d, b: (
                json.dumps(
                    {**b, "mutations": [{**b["mutations"][0], "client_seq": "one"}]}
                ).encode(),
                {},
            ),
            422,
            "invalid_payload",
        ),
        (lambda d, b: (json.dumps({**b, "extra": 1}).encode(), {}), 422, "invalid_payload"),
        (lambda d, b: (b"x" * (64 * 1024 + 1), {}), 413, "body_too_large"),
        (
            lambda d, b: (gzip.compress(b" " * (10 * 1024 * 1024)), {"Content-Encoding": "gzip"}),
            413,
            "body_too_large",
        ),
        (lambda d, b: (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}), 400, "bad_encoding"),
        (
            lambda d, b: (json.dumps(b).encode(), {"Content-Encoding": "br"}),
            415,
            "unsupported_encoding",
        ),
    ],
    ids=[
        "malformed",
        "schema",
        "kind",
        "command",
        "type",
        "extra",
        "oversize",
        "zip-bomb",
        "bad-gzip",
        "brotli",
    ],
)
async def test_bad_bodies_get_a_clear_4xx_reason_and_nothing_is_applied(
    sync_env: SyncEnv, mangle: Any, status: int, reason: str
) -> None:
    sync_env.app = create_app(sync_env.engine, max_body_bytes=64 * 1024)
    device = Device(sync_env, "nina")
    content, extra = mangle(device, device.body(device.referral()))
    headers = {**device.auth, "Content-Type": "application/json", **extra}
    async with client(sync_env) as http:
        answer = await http.post("/v1/sync/push", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == reason
    assert "Test Person" not in answer.text  # pydantic echoes bodies; they may hold patient data
    assert event_count(sync_env.engine) == 0
    with sync_env.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(receipt_table)).scalar_one() == 0


async def test_auth_no_token_wrong_token_revoked_device_and_used_enrolment_token(
    sync_env: SyncEnv,
) -> None:
    device = Device(sync_env, "nina")
    body = device.body(device.referral())
    async with client(sync_env) as http:
        none = await http.post("/v1/sync/push", json=body)
        wrong = await http.post(
            "/v1/sync/push", json=body, headers={"Authorization": "Bearer d2a_guess"}
        )
        pull = await http.get("/v1/sync/pull", headers={"Authorization": "Basic abc"})
        admin.revoke_device(sync_env.engine, device.device_id)
        revoked = await http.post("/v1/sync/push", json=body, headers=device.auth)
        _, enrol_token = admin.enrol_device(sync_env.engine, "nina")
        first = await http.post("/v1/devices/enrol", json={"token": enrol_token})
        second = await http.post("/v1/devices/enrol", json={"token": enrol_token})
        health = await http.get("/v1/health")
    assert (none.status_code, none.json()["error"]) == (401, "no_token")
    assert none.headers["www-authenticate"] == "Bearer"
    assert (wrong.status_code, wrong.json()["error"]) == (401, "bad_token")
    assert (pull.status_code, pull.json()["error"]) == (401, "bad_token")
    assert (revoked.status_code, revoked.json()["error"]) == (401, "revoked")
    assert first.status_code == 200 and first.json()["token"].startswith("d2a_")
    assert (second.status_code, second.json()["error"]) == (401, "bad_enrolment_token")
    assert health.status_code == 200
    assert event_count(sync_env.engine) == 0


async def test_tokens_are_stored_only_as_hashes(sync_env: SyncEnv) -> None:
    device = Device(sync_env, "nina")
    with sync_env.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(select(admin.device_table)))
    assert device.token not in dump
    assert admin.token_hash(device.token) in dump


async def test_a_device_cannot_act_for_another_device_or_user(sync_env: SyncEnv) -> None:
    nina, omar = Device(sync_env, "nina"), Device(sync_env, "omar")
    async with client(sync_env) as http:
        other_device = await http.post(
            "/v1/sync/push", json=omar.body(omar.referral()), headers=nina.auth
        )
        referral = nina.referral()
        referral["actor"] = "omar"
        other_user = await http.post("/v1/sync/push", json=nina.body(referral), headers=nina.auth)
    assert (other_device.status_code, other_device.json()["error"]) == (403, "device_mismatch")
    assert (other_user.status_code, other_user.json()["error"]) == (403, "actor_mismatch")
    assert event_count(sync_env.engine) == 0


@pytest.mark.parametrize("role", ["provider", "viewer", "manager"])
async def test_only_coordinators_and_night_staff_change_journeys(
    sync_env: SyncEnv, role: str
) -> None:
    device = Device(sync_env, "pat", role, "Care Co")
    async with client(sync_env) as http:
        answer = await http.post(
            "/v1/sync/push", json=device.body(device.referral()), headers=device.auth
        )
    receipt = answer.json()["receipts"][0]
    assert (receipt["outcome"], receipt["reason"]) == ("rejected", "forbidden")
    assert event_count(sync_env.engine) == 0


async def test_the_role_is_checked_when_the_mutation_is_applied_not_at_enrolment(
    sync_env: SyncEnv,
) -> None:
    device = Device(sync_env, "nina", "night")
    admin.add_user(sync_env.engine, "Nina", "viewer", None, "nina")  # demoted after enrolment
    async with client(sync_env) as http:
        answer = await http.post(
            "/v1/sync/push", json=device.body(device.referral()), headers=device.auth
        )
    assert answer.json()["receipts"][0]["reason"] == "forbidden"
    assert event_count(sync_env.engine) == 0


async def test_a_provider_reports_capacity_for_its_own_services_only(sync_env: SyncEnv) -> None:
    from d2a_tui.storage.models import Service

    provider = Device(sync_env, "pat", "provider", "Care Co")
    with sync_env.engine.begin() as connection:
        for service_id, org in (("ours", "care-co"), ("theirs", None)):
            connection.execute(
                Service.insert().values(
                    id=service_id,
                    name=service_id,
                    kind="care_home",
                    pathway="P2",
                    unit="beds",
                    organisation_id=org,
                    active=True,
                )
            )

    def report(service: str) -> dict[str, Any]:
        provider.seq += 1
        return {
            "kind": "capacity",
            "mutation_id": uuid7(),
            "client_seq": provider.seq,
            "actor": "pat",
            "occurred_at": NOW,
            "report_id": uuid7(),
            "service_id": service,
            "total": 10,
            "occupied": 7,
        }

    async with client(sync_env) as http:
        answer = await http.post(
            "/v1/sync/push",
            json=provider.body(report("ours"), report("theirs")),
            headers=provider.auth,
        )
    outcomes = [(r["outcome"], r.get("reason")) for r in answer.json()["receipts"]]
    assert outcomes == [("applied", None), ("rejected", "forbidden")]


async def test_conflict_rule_for_moves(any_sync_env: SyncEnv) -> None:
    nina, omar = Device(any_sync_env, "nina"), Device(any_sync_env, "omar")
    refer = nina.referral()
    journey = refer["journey_id"]

    def move(device: Device, seen: str, to: str) -> dict[str, Any]:
        return device.mutation(
            "move", journey, args={"to": to}, seen={"column": seen}, want={"column": to}
        )

    async with client(any_sync_env) as http:
        await http.post(
            "/v1/sync/push",
            json=nina.body(refer, move(nina, "referred", "triage")),
            headers=nina.auth,
        )
        # omar saw it in Referred too (offline): it is not there any more, and not where he wanted
        conflict = await http.post(
            "/v1/sync/push", json=omar.body(move(omar, "referred", "await_p1")), headers=omar.auth
        )
        # omar also wanted it in Triage: already done, merged
        merged = await http.post(
            "/v1/sync/push", json=omar.body(move(omar, "referred", "triage")), headers=omar.auth
        )
        # a stale version but the same column: it applies
        applied = await http.post(
            "/v1/sync/push", json=omar.body(move(omar, "triage", "await_p2")), headers=omar.auth
        )
        pulled = await http.get("/v1/sync/pull", params={"since": 0}, headers=omar.auth)
    receipt = conflict.json()["receipts"][0]
    assert receipt["outcome"] == "conflict"
    assert receipt["theirs"]["actor"] == "nina" and receipt["theirs"]["values"] == {
        "column": "triage"
    }
    assert merged.json()["receipts"][0]["outcome"] == "merged"
    assert applied.json()["receipts"][0]["outcome"] == "applied"
    kinds = [(e["kind"], e["payload"].get("to")) for e in pulled.json()["events"]]
    assert kinds == [("referred", None), ("moved", "triage"), ("moved", "await_p2")]


async def test_pull_pages_and_answers_304_when_nothing_is_new(any_sync_env: SyncEnv) -> None:
    device = Device(any_sync_env, "nina")
    async with client(any_sync_env) as http:
        await http.post(
            "/v1/sync/push",
            json=device.body(*[device.referral(i) for i in range(1, 6)]),
            headers=device.auth,
        )
        first = await http.get(
            "/v1/sync/pull", params={"since": 0, "limit": 3}, headers=device.auth
        )
        second = await http.get(
            "/v1/sync/pull", params={"since": first.json()["next"], "limit": 3}, headers=device.auth
        )
        cursor = second.json()["next"]
        empty = await http.get(
            "/v1/sync/pull",
            params={"since": cursor},
            headers={**device.auth, "If-None-Match": f'"{cursor}"'},
        )
    assert [len(first.json()["events"]), first.json()["has_more"]] == [3, True]
    assert [len(second.json()["events"]), second.json()["has_more"]] == [2, False]
    assert second.headers["etag"] == f'"{cursor}"'
    assert empty.status_code == 304 and empty.content == b""


async def test_a_long_poll_returns_as_soon_as_someone_pushes(sync_env: SyncEnv) -> None:
    device = Device(sync_env, "nina")
    async with client(sync_env) as http:
        started = asyncio.get_running_loop().time()
        poll = asyncio.create_task(
            http.get("/v1/sync/pull", params={"since": 0, "wait": 20}, headers=device.auth)
        )
        await asyncio.sleep(0.3)
        assert not poll.done()
        await http.post("/v1/sync/push", json=device.body(device.referral()), headers=device.auth)
        answer = await poll
    assert answer.status_code == 200 and len(answer.json()["events"]) == 1
    assert asyncio.get_running_loop().time() - started < 5


async def test_responses_are_gzipped_when_asked(sync_env: SyncEnv) -> None:
    device = Device(sync_env, "nina")
    async with client(sync_env) as http:
        await http.post(
            "/v1/sync/push",
            json=device.body(*[device.referral(i) for i in range(1, 30)]),
            headers=device.auth,
        )
        answer = await http.get("/v1/sync/pull", headers={**device.auth, "Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.num_bytes_downloaded < len(answer.content) / 3


def test_openapi_describes_the_endpoints_and_every_mutation_kind(sync_env: SyncEnv) -> None:
    document = sync_env.app.openapi()
    assert {"/v1/sync/push", "/v1/sync/pull", "/v1/sync/snapshot", "/v1/health"} <= set(
        document["paths"]
    )
    schemas = document["components"]["schemas"]
    assert {
        "CommandMutation",
        "ResolveMutation",
        "CapacityMutation",
        "PushResponse",
        "ErrorBody",
    } <= set(schemas)
    push = document["paths"]["/v1/sync/push"]["post"]
    assert {"401", "409", "413", "422"} <= set(push["responses"])


def test_the_server_refuses_a_database_of_another_schema(tmp_path: Any) -> None:
    with pytest.raises(SchemaMismatch, match="d2a db upgrade"):
        create_app(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
