"""Protocol version 3: the same push in fewer bytes (each journey id once per batch, times as
steps in microseconds, client_seq implied), with the guarantees of version 2 unchanged, and
version 1 and 2 clients still served."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.storage.journeys import event_table
from d2a_tui.sync.ingest import receipt_table
from d2a_tui.sync.protocol import PushRequest, PushRequestV3, encode_push
from d2a_tui.sync.server import errors as server_errors
from d2a_tui.sync.server.routes import sync as push_route
from tests.sync.conftest import SyncEnv, event_count, nhs, refer
from tests.sync.test_slow_link import holdings

BASE = "http://d2a.test"
# Times with microseconds, a step back and a whole second: each must land exactly.
TIMES = [
    datetime(2026, 11, 23, 2, 14, 5, 123457, tzinfo=UTC),
    datetime(2026, 11, 23, 2, 14, 5, 9, tzinfo=UTC),
    datetime(2026, 11, 23, 2, 16, 0, tzinfo=UTC),
]


class Sent(httpx.BaseTransport):
    """Passes requests on and keeps each push's body as sent (gunzipped) and its status."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.pushes: list[tuple[dict[str, Any], int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/push"):
            body = json.loads(gzip.decompress(request.read()))
            self.pushes.append((body, response.status_code))
        return response


def journeys_of(body: dict[str, Any]) -> list[str]:
    raw = base64.b64decode(body["journeys"])
    return [str(uuid.UUID(bytes=raw[at : at + 16])) for at in range(0, len(raw), 16)]


def hand_made(user: str, first_seq: int = 1, serial: int = 1) -> list[dict[str, Any]]:
    """A referral, then a move and a note on it, at `TIMES`, as a replica's outbox holds them."""
    journey = new_journey_id()
    patient = {"nhs_number": nhs(serial), "name": "Test Person", "date_of_birth": "1941-05-06"}
    commands = [
        ("refer", {"patient": {**patient, "id": new_journey_id()}}),
        ("move", {"to": "triage"}),
        ("add_note", {"text": "family aware"}),
    ]
    return [
        {
            "kind": "command",
            "mutation_id": uuid7(),
            "client_seq": first_seq + index,
            "actor": user,
            "occurred_at": at.isoformat(),
            "command": command,
            "journey_id": journey,
            "args": args,
        }
        for index, ((command, args), at) in enumerate(zip(commands, TIMES, strict=True))
    ]


def test_version_3_reads_back_as_the_very_mutations_version_2_would() -> None:
    device_id = uuid7()
    batch = [
        *hand_made("nina"),
        {
            "kind": "access",
            "mutation_id": uuid7(),
            "client_seq": 4,
            "actor": "nina",
            "occurred_at": TIMES[0].isoformat(),
            "journey_id": new_journey_id(),
            "purpose": "screen",
        },
    ]
    v2 = PushRequest.model_validate(
        {"schema_version": 2, "device_id": device_id, "mutations": batch}
    )
    body = encode_push(device_id, batch)

    assert body is not None and body["first_seq"] == 1
    assert journeys_of(body) == [batch[0]["journey_id"], batch[3]["journey_id"]]
    assert [change.get("journey") for change in body["mutations"]] == [0, 0, 0, 1]
    assert not any({"journey_id", "client_seq", "occurred_at"} & set(c) for c in body["mutations"])
    v3 = PushRequestV3.model_validate(json.loads(json.dumps(body)))
    assert [m.model_dump(mode="json") for m in v3.mutations] == [
        m.model_dump(mode="json") for m in v2.mutations
    ]
    assert [m.occurred_at for m in v3.mutations] == [*TIMES, TIMES[0]]


def test_a_batch_version_3_cannot_carry_exactly_goes_as_version_2() -> None:
    batch = hand_made("nina")
    assert encode_push(uuid7(), batch) is not None
    offset = [dict(m) for m in batch]
    offset[1]["occurred_at"] = TIMES[1].astimezone(timezone(timedelta(hours=1))).isoformat()
    assert encode_push(uuid7(), offset) is None  # the offset would be lost
    gap = [dict(m) for m in batch]
    gap[2]["client_seq"] = 5
    assert encode_push(uuid7(), gap) is None
    assert encode_push(uuid7(), []) is None


def test_a_night_goes_as_version_3_each_journey_named_once_and_lands_as_before(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("nina")
    sent = Sent(sync_env.switch)
    night = sync_env.replica("nina", transport=sent)
    night.sync.sync_now(wait=True)
    first, second = refer(night, 1), refer(night, 2)
    night.move(first, "triage")
    night.add_note(second, "family aware")
    night.set_delay(first, "EQUIP")

    report = night.sync.sync_now(wait=True)

    assert report.pushed == 5 and report.outcomes == {"applied": 5}
    ((body, status),) = sent.pushes[-1:]
    assert status == 200 and body["schema_version"] == 3
    assert journeys_of(body) == [first, second]
    assert holdings(night.store.engine) == holdings(sync_env.engine)
    with sync_env.engine.connect() as connection:
        server_times = sorted(connection.execute(select(event_table.c.occurred_at)).scalars())
    with night.store.engine.connect() as connection:
        local_times = sorted(connection.execute(select(event_table.c.occurred_at)).scalars())
    assert server_times == local_times


async def test_a_batch_sent_in_one_version_and_retried_in_the_other_is_applied_once(
    any_sync_env: SyncEnv,
) -> None:
    any_sync_env.user("nina")
    device_id, token = any_sync_env.token("nina")
    auth = {"Authorization": f"Bearer {token}"}
    older = hand_made("nina")
    newer = hand_made("nina", first_seq=4, serial=2)
    transport = httpx.ASGITransport(app=any_sync_env.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:

        async def push(body: dict[str, Any] | None) -> dict[str, Any]:
            answer = await http.post("/v1/sync/push", json=body, headers=auth)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        # An older client's batch (version 2), its answer lost, sent again once upgraded.
        as_v2 = await push({"schema_version": 2, "device_id": device_id, "mutations": older})
        again = await push(encode_push(device_id, older))
        # And the other way round: a version-3 batch retried as version 2.
        as_v3 = await push(encode_push(device_id, newer))
        back = await push({"schema_version": 2, "device_id": device_id, "mutations": newer})
        # A version-1 client is still answered with whole receipts.
        v1 = await push({"schema_version": 1, "device_id": device_id, "mutations": older})

    assert as_v2["applied"] == again["applied"] == [[1, 3]]
    assert as_v3["applied"] == back["applied"] == [[4, 6]]
    assert [r["client_seq"] for r in v1["receipts"]] == [1, 2, 3]
    assert event_count(any_sync_env.engine) == 6
    with any_sync_env.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(receipt_table)).scalar_one() == 6
        stored = connection.execute(
            select(event_table.c.occurred_at).order_by(event_table.c.position)
        ).scalars()
        assert [at.astimezone(UTC) for at in stored] == TIMES * 2


def _v3(mangle: Any) -> Any:
    def make(device_id: str) -> bytes:
        body = encode_push(device_id, hand_made("nina"))
        assert body is not None
        mangle(body)
        return json.dumps(body).encode()

    return make


def _set(key: str, value: Any) -> Any:
    return lambda body: body.__setitem__(key, value)


def _change(index: int, key: str, value: Any) -> Any:
    return lambda body: body["mutations"][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (_v3(_set("journeys", "not base64!")), 422, "invalid_payload"),
        (_v3(_set("journeys", base64.b64encode(bytes(17)).decode())), 422, "invalid_payload"),
        (_v3(_change(2, "journey", 1)), 422, "invalid_payload"),
        (_v3(_change(1, "journey", -1)), 422, "invalid_payload"),
        (_v3(_change(1, "elapsed_us", 10**20)), 422, "invalid_payload"),
        (_v3(_change(2, "elapsed_us", -(10**17))), 422, "invalid_payload"),
        (_v3(_set("first_seq", 0)), 422, "invalid_payload"),
        (_v3(_change(0, "client_seq", 1)), 422, "invalid_payload"),
        (_v3(_change(0, "kind", "teleport")), 422, "unknown_mutation_kind"),
        (_v3(_set("schema_version", 4)), 400, "unknown_schema_version"),
        (
            _v3(lambda body: body.__setitem__("mutations", body["mutations"] * 200)),
            413,
            "batch_too_large",
        ),
    ],
    ids=[
        "bad-base64",
        "part-of-an-id",
        "journey-not-listed",
        "negative-index",
        "beyond-any-date",
        "before-any-date",
        "seq-zero",
        "version-2-field",
        "unknown-kind",
        "version-4",
        "too-many",
    ],
)
async def test_a_version_3_body_the_server_cannot_read_is_refused_and_nothing_applied(
    sync_env: SyncEnv, make: Any, status: int, reason: str
) -> None:
    sync_env.user("nina")
    device_id, token = sync_env.token("nina")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=sync_env.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        answer = await http.post("/v1/sync/push", content=make(device_id), headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == reason
    assert "Test Person" not in answer.text
    assert event_count(sync_env.engine) == 0


def test_a_client_meeting_a_server_from_before_version_3_sends_version_2(
    sync_env: SyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server as a version-2 release is: it refuses version 3 with unknown_schema_version.
    # The push route and the body's validation error each check the version (the server is a
    # package of routers: each module holds the name it imported).
    monkeypatch.setattr(push_route, "SUPPORTED_VERSIONS", (1, 2))
    monkeypatch.setattr(server_errors, "SUPPORTED_VERSIONS", (1, 2))
    sync_env.user("nina")
    sent = Sent(sync_env.switch)
    night = sync_env.replica("nina", transport=sent)
    journey = refer(night, 1)
    night.move(journey, "triage")

    report = night.sync.sync_now(wait=True)

    assert report.outcomes == {"applied": 2}
    assert [(body["schema_version"], status) for body, status in sent.pushes] == [
        (3, 400),
        (2, 200),
    ]
    assert holdings(night.store.engine) == holdings(sync_env.engine)
    night.add_note(journey, "family aware")
    night.sync.sync_now(wait=True)
    assert [body["schema_version"] for body, _ in sent.pushes[2:]] == [2]  # not asked again
