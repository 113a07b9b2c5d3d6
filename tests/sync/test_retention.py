"""Retention on a replica: open journeys and those closed within `keep_closed_days` (14) stay;
the rest are deleted locally at each sync — events, journey, patient, settled outbox rows — and
never on the server. A journey with a change still on its way is kept; a purged journey that
is reopened on the server comes back whole at the next sync."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from d2a_tui.storage.journeys import event_table, journey_table, patient_table
from d2a_tui.sync.client import SyncError
from d2a_tui.sync.rebuild import outbox_table
from tests.conftest import FrozenClock
from tests.sync.conftest import SyncEnv, refer
from tests.sync.transports import DownTransport


def count(engine: object, table: object, **where: str) -> int:
    query = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for column, value in where.items():
        query = query.where(getattr(table.c, column) == value)  # type: ignore[attr-defined]
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(query).scalar_one())


def test_journeys_closed_long_ago_leave_the_replica_but_not_the_server(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    sync_env.user("nina")
    server = sync_env.direct()
    old, recent, still_open = (refer(server, serial) for serial in (1, 2, 3))
    server.close_journey(old, "home_independent")
    clock.advance(days=10)
    server.close_journey(recent, "home_independent")
    replica = sync_env.replica("nina", "night")
    replica.sync.sync_now(wait=True)
    engine = replica.store.engine
    assert count(engine, journey_table) == 3  # 10 days after the first close: all kept
    server_events_before = count(sync_env.engine, event_table)

    clock.advance(days=5)  # the first closed 15 days ago, the second 5 days ago
    replica.sync.sync_now(wait=True)
    assert replica.sync.purged == 1
    assert count(engine, journey_table, id=old) == 0
    assert count(engine, event_table, journey_id=old) == 0
    assert count(engine, outbox_table, journey_id=old) == 0
    assert count(engine, patient_table, name="Test Person 1") == 0
    assert count(engine, journey_table, id=recent) == 1
    assert count(engine, journey_table, id=still_open) == 1
    # The server is the record: nothing there changed, and no event says "purged".
    assert count(sync_env.engine, event_table) == server_events_before
    assert count(sync_env.engine, journey_table, id=old) == 1


def test_a_closed_journey_with_a_change_on_its_way_is_kept(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    sync_env.user("nina")
    assert sync_env.switch is not None
    replica = sync_env.replica("nina", "night")
    journey = refer(replica, 1)
    replica.sync.sync_now(wait=True)
    replica.sync.keep_closed_days = 0
    online = sync_env.switch.target
    sync_env.switch.target = DownTransport()
    replica.close_journey(journey, "home_independent")  # offline: not on the server yet
    clock.advance(days=1)
    with pytest.raises(SyncError):  # the server is down; the purge ran first, and kept it
        replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 1
    sync_env.switch.target = online
    replica.sync.sync_now(wait=True)  # sent and confirmed: now it may go, at the next sync
    clock.advance(days=1)
    replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 0


def test_a_purged_journey_reopened_on_the_server_comes_back_whole(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    sync_env.user("nina")
    server = sync_env.direct()
    journey = refer(server, 1)
    server.close_journey(journey, "home_independent")
    replica = sync_env.replica("nina", "night")
    replica.sync.sync_now(wait=True)
    clock.advance(days=20)
    replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 0
    server.reopen(journey)
    replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 1
    assert count(replica.store.engine, event_table, journey_id=journey) == count(
        sync_env.engine, event_table, journey_id=journey
    )
    assert replica.journey(journey).card.name == "Test Person 1"


def test_retention_counts_the_hubs_days_as_scope_does(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    # Closed on Monday 23 November 09:30 (London = UTC in winter): kept through 7 December,
    # the 14th day after, whatever the hour (14 days 13 hours on is 22:30 on the 7th), and
    # gone at the first sync on the 8th. Counting instants would drop it at 09:30 on the 7th.
    sync_env.user("nina")
    server = sync_env.direct()
    journey = refer(server, 1)
    server.close_journey(journey, "home_independent")
    replica = sync_env.replica("nina", "night")
    replica.sync.sync_now(wait=True)
    clock.advance(days=14, hours=13)
    replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 1
    clock.advance(hours=2)  # 8 December 00:30
    replica.sync.sync_now(wait=True)
    assert count(replica.store.engine, journey_table, id=journey) == 0


def test_a_closed_journey_whose_conflict_was_decided_is_purged(
    sync_env: SyncEnv, clock: FrozenClock
) -> None:
    """A change the server answered with a conflict, merged or refused stays in the outbox as
    settled, never "confirmed": once decided it must not keep the journey on the laptop."""
    sync_env.user("nina")
    sync_env.user("omar")
    desk = sync_env.direct("day.coordinator")
    conflicted, merged = refer(desk, 1), refer(desk, 2)
    for journey in (conflicted, merged):
        desk.move(journey, "triage")
    nina, omar = sync_env.replica("nina", "nina"), sync_env.replica("omar", "omar")
    nina.sync.sync_now(wait=True)
    omar.sync.sync_now(wait=True)
    omar.move(conflicted, "await_p3")
    omar.move(merged, "await_p2")
    omar.sync.sync_now(wait=True)
    nina.move(conflicted, "await_p2")  # she saw Triage: a conflict
    nina.move(merged, "await_p2")  # where omar put it already: merged
    nina.sync.sync_now(wait=True)
    outcomes = {row.journey_id: row.status for row in _outbox(nina, "command")}
    assert outcomes == {conflicted: "conflict", merged: "merged"}
    (view,) = nina.sync.conflicts()
    nina.sync.resolve_conflict(view.mutation_id, "theirs")
    nina.sync.sync_now(wait=True)
    for journey in (conflicted, merged):
        desk.close_journey(journey, "home_independent")
    nina.sync.sync_now(wait=True)
    assert count(nina.store.engine, journey_table) == 2

    clock.advance(days=15)
    nina.sync.sync_now(wait=True)
    assert nina.sync.purged == 2
    assert count(nina.store.engine, journey_table) == 0
    assert count(nina.store.engine, outbox_table, kind="command") == 0


def _outbox(hub: object, kind: str) -> list[object]:
    with hub.store.engine.connect() as connection:  # type: ignore[attr-defined]
        return list(connection.execute(select(outbox_table).where(outbox_table.c.kind == kind)))
