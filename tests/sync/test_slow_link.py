"""Protocol version 2, for a night's sync on a slow link: compact push answers, and a pull that
leaves out the device's own events, with the guarantees unchanged (every change answered once,
every replica holding exactly the server's journeys and events)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from d2a_tui.storage.journeys import event_table, journey_table
from d2a_tui.sync.compact import compact, expand, payload_digest
from d2a_tui.sync.protocol import Receipt
from d2a_tui.sync.replica import outbox_table
from tests.sync.conftest import SyncEnv, refer


class Recording(httpx.BaseTransport):
    """Passes requests on and keeps each answer's path and JSON body."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.answers: list[tuple[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        raw = response.read()  # decoded: httpx undoes the gzip
        body = json.loads(raw) if raw else None
        self.answers.append((request.url.path.rsplit("/", 1)[-1], body))
        return response

    def bodies(self, path: str) -> list[Any]:
        return [body for name, body in self.answers if name == path]


def holdings(engine: Any) -> tuple[dict[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        journeys = {
            row.id: (row.column_id, row.version, row.delay_reason)
            for row in connection.execute(select(journey_table))
        }
        events = sorted(
            tuple(row)
            for row in connection.execute(
                select(
                    event_table.c.event_id,
                    event_table.c.journey_id,
                    event_table.c.seq,
                    event_table.c.payload,
                )
            )
        )
    return journeys, events


def test_a_night_offline_is_answered_in_ranges_and_none_of_it_is_pulled_back(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("nina")
    recording = Recording(sync_env.switch)
    night = sync_env.replica("nina", transport=recording)
    refer(sync_env.direct(), 9)  # the hub is not empty: the night replica starts from a cursor
    night.sync.sync_now(wait=True)
    recording.answers.clear()
    first = refer(night, 1)
    second = refer(night, 2)
    night.move(first, "triage")
    night.add_note(second, "family aware")
    night.set_delay(first, "EQUIP")
    night.move(second, "triage")

    report = night.sync.sync_now(wait=True)

    assert report.pushed == 6
    assert report.pulled == 0  # all six events were ours, confirmed from the answer
    (answer,) = recording.bodies("push")
    assert "receipts" not in answer
    assert answer["applied"] == [[1, 6]] and answer["exceptions"] == []
    assert len(answer["digests"]) == 6 * 8
    assert holdings(night.store.engine) == holdings(sync_env.engine)
    with night.store.engine.connect() as connection:
        assert all(row.confirmed for row in connection.execute(select(outbox_table)))


def test_a_change_the_server_made_differently_is_fetched_and_the_replica_converges(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("nina")
    sync_env.user("omar", role="coordinator")
    night = sync_env.replica("nina")
    day = sync_env.replica("omar")
    journey = refer(day, 1)
    day.sync.sync_now(wait=True)
    night.sync.sync_now(wait=True)
    # Offline, the night nurse notes and moves; meanwhile the day coordinator adds a note, so
    # on the server the night's changes land one version later than the night replica made them.
    night.add_note(journey, "awaiting transport")
    night.move(journey, "triage")
    day.add_note(journey, "daughter phoned")
    day.sync.sync_now(wait=True)

    night.sync.sync_now(wait=True)

    assert holdings(night.store.engine) == holdings(sync_env.engine)
    with night.store.engine.connect() as connection:
        assert all(row.confirmed for row in connection.execute(select(outbox_table)))
    day.sync.sync_now(wait=True)
    assert holdings(day.store.engine) == holdings(sync_env.engine)


def test_compact_answers_expand_to_the_receipts_they_stand_for() -> None:
    # Seqs 4-6 and 8 applied, 7 a conflict: two ranges, one exception.
    ids = {seq: f"00000000-0000-7000-8000-{seq:012d}" for seq in range(4, 9)}
    receipts = [
        Receipt(mutation_id=ids[seq], client_seq=seq, outcome="applied", journey_version=seq + 10)
        for seq in (4, 5, 6, 8)
    ]
    receipts.insert(
        3,
        Receipt(mutation_id=ids[7], client_seq=7, outcome="conflict", reason="changed_since"),
    )
    digests = {ids[seq]: payload_digest({"seq": seq}) for seq in (4, 5, 6)}  # 8 made no event
    body = compact(receipts, digests, next_seq=9, head=99)
    assert body["applied"] == [[4, 6], [8, 8]]
    assert body["versions"] == [14, 15, 16, 18]
    batch = [{"client_seq": seq, "mutation_id": mutation} for seq, mutation in ids.items()]
    answer = expand(body, batch)
    assert [(r.client_seq, r.mutation_id, r.outcome) for r in answer.receipts] == [
        (r.client_seq, r.mutation_id, r.outcome) for r in receipts
    ]
    assert answer.receipts[0].digest == payload_digest({"seq": 4})
    assert answer.receipts[4].digest is None
    assert (answer.next_seq, answer.head) == (9, 99)


def test_a_version_1_client_still_gets_whole_receipts_and_its_own_events(
    sync_env: SyncEnv,
) -> None:
    sync_env.user("nina")
    night = sync_env.replica("nina")
    night.sync.sync_now(wait=True)
    refer(night, 1)
    mutations = night.sync.replica.pending_batch(10)
    http = httpx.Client(transport=sync_env.switch, base_url="http://d2a.test")
    headers = {"Authorization": f"Bearer {night.sync.login.token}"}
    pushed = http.post(
        "/v1/sync/push",
        json={
            "schema_version": 1,
            "device_id": night.sync.replica.device_id,
            "mutations": mutations,
        },
        headers=headers,
    ).json()
    assert [r["mutation_id"] for r in pushed["receipts"]] == [m["mutation_id"] for m in mutations]
    pulled = http.get("/v1/sync/pull", params={"since": 0}, headers=headers).json()
    assert [e["event_id"] for e in pulled["events"]] == [m["mutation_id"] for m in mutations]
    skipped = http.get("/v1/sync/pull", params={"since": 0, "mine": "skip"}, headers=headers).json()
    assert skipped["events"] == [] and skipped["next"] == pulled["head"]


def test_a_streamed_snapshot_holds_every_event_of_the_journeys_it_covers(
    sync_env: SyncEnv, monkeypatch: Any
) -> None:
    from d2a_tui.sync import snapshot_stream

    monkeypatch.setattr(snapshot_stream, "JOURNEYS_PER_CHUNK", 2)  # 5 journeys: three chunks
    direct = sync_env.direct()
    journeys = [refer(direct, serial) for serial in range(1, 6)]
    direct.move(journeys[0], "triage")
    direct.add_note(journeys[3], "family aware")
    sync_env.user("nina")
    night = sync_env.replica("nina")

    snapshot = night.sync.client.snapshot()

    _, server_events = holdings(sync_env.engine)
    assert snapshot.journeys == 5 and snapshot.head == len(server_events) == 7
    assert sorted((e.event_id, e.journey_id, e.seq, e.payload) for e in snapshot.events) == [
        (event_id, journey_id, seq, payload) for event_id, journey_id, seq, payload in server_events
    ]
    night.sync.sync_now(wait=True)
    assert holdings(night.store.engine) == holdings(sync_env.engine)
