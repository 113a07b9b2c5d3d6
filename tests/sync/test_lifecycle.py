"""A server process's life, in process: readiness, draining, and the head listener that wakes
long-polling pulls when another process writes (issue 15 §3). Real processes: tests/e2e."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest
from sqlalchemy import text

from d2a_tui.domain.errors import D2AError
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import SCHEMA_HEAD, ensure_schema, make_engine
from d2a_tui.storage.event_log import EventLog
from d2a_tui.storage.head_watch import listen_conninfo
from d2a_tui.sync.server import create_app
from d2a_tui.sync.wakeup import HeadListener, Waiters
from tests.conftest import drop_database, private_database, refer_someone
from tests.sync.conftest import SyncEnv, event_count
from tests.sync.test_protocol import Device


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")  # type: ignore[arg-type]


async def test_ready_answers_when_the_database_answers_with_this_servers_schema(
    any_sync_env: SyncEnv,
) -> None:
    async with client(any_sync_env.app) as http:
        ready = await http.get("/v1/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema_revision": SCHEMA_HEAD}


async def test_ready_is_503_schema_mismatch_once_the_database_holds_another_schema(
    any_sync_env: SyncEnv,
) -> None:
    def stamp(revision: str) -> None:
        with any_sync_env.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
            )

    stamp("0001")
    try:
        async with client(any_sync_env.app) as http:
            ready = await http.get("/v1/ready")
            health = await http.get("/v1/health")
    finally:
        stamp(SCHEMA_HEAD)  # the worker's PostgreSQL database serves the tests after this one
    assert (ready.status_code, ready.json()["error"]) == (503, "schema_mismatch")
    assert "'0001'" in ready.json()["detail"]
    assert health.status_code == 200  # alive all the same: not a reason to restart it


@pytest.mark.postgres
async def test_ready_is_503_database_unavailable_once_the_database_is_gone() -> None:
    name = f"{os.environ.get('D2A_TEST_DB_PREFIX', 'd2a_test')}_ready"
    url = private_database(name)
    engine = make_engine(url)
    ensure_schema(engine)
    app = create_app(engine)
    drop_database(name)  # every connection to it is ended, and it cannot be reached again
    async with client(app) as http:
        ready = await http.get("/v1/ready")
        health = await http.get("/v1/health")
    engine.dispose()
    assert (ready.status_code, ready.json()["error"]) == (503, "database_unavailable")
    assert ready.headers["retry-after"] == "1"
    assert health.status_code == 200


async def test_draining_answers_waiting_pulls_at_once_and_refuses_new_work(
    sync_env: SyncEnv,
) -> None:
    device = Device(sync_env, "nina")
    async with client(sync_env.app) as http:
        waiting = asyncio.create_task(
            http.get("/v1/sync/pull", params={"wait": 30}, headers=device.auth)
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        started = time.monotonic()
        sync_env.app.state.lifecycle.drain()
        pulled = await asyncio.wait_for(waiting, 5)
        answered_in = time.monotonic() - started
        pushed = await http.post(
            "/v1/sync/push", json=device.body(device.referral()), headers=device.auth
        )
        ready = await http.get("/v1/ready")
        health = await http.get("/v1/health")
    assert pulled.status_code == 200 and pulled.json()["events"] == []
    assert answered_in < 1.0  # not the 30 s it asked to wait
    assert (pushed.status_code, pushed.json()["error"]) == (503, "shutting_down")
    assert pushed.headers["connection"] == "close"
    assert (ready.status_code, ready.json()["error"]) == (503, "shutting_down")
    assert health.status_code == 200
    assert event_count(sync_env.engine) == 0  # refused before it touched anything


async def test_a_wake_up_between_reading_the_head_and_waiting_is_not_lost() -> None:
    waiters = Waiters()
    ticket = waiters.ticket()  # taken before the (notional) read of the head
    waiters.notify()  # a push commits before the pull starts to wait
    started = time.monotonic()
    await waiters.wait(ticket, 5)
    assert time.monotonic() - started < 0.5
    assert waiters.ticket() is not ticket  # the next wait needs a new wake-up


def test_sqlite_has_no_listener_and_keeps_its_one_second_poll(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/d2a.db")
    assert listen_conninfo(engine) is None
    assert Waiters().poll_seconds == 1.0


@pytest.mark.postgres
async def test_a_commit_by_another_process_wakes_the_listener_and_a_rollback_does_not(
    hub: Hub,
) -> None:
    if hub.store.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    conninfo = listen_conninfo(hub.store.engine)
    assert conninfo is not None
    waiters = Waiters()
    listener = HeadListener(conninfo, waiters)
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        assert waiters.listening and waiters.poll_seconds > 1.0

        # A write that rolls back announces nothing: NOTIFY is part of its transaction.
        ticket = waiters.ticket()
        with pytest.raises(D2AError), hub.store.engine.begin() as connection:
            EventLog(connection).reserve()
            raise D2AError("changed my mind")
        await waiters.wait(ticket, 0.5)
        assert not ticket.is_set()

        # A terminal's referral on the same database (another connection, as another process).
        started = time.monotonic()
        await asyncio.to_thread(refer_someone, hub)
        await waiters.wait(ticket, 5)
        assert ticket.is_set()
        assert time.monotonic() - started < 1.0
        # The announcement carries the new head, so woken pulls need not ask for it.
        assert waiters.head == hub.head_position() > 0

        # The listening connection is cut (a database restart, a DBA): it comes back by itself,
        # and meanwhile the pulls poll every second.
        with hub.store.engine.begin() as connection:
            cut = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'd2a listener' AND datname = current_database()"
                )
            ).all()
        assert cut == [(True,)]
        deadline = time.monotonic() + 5
        while waiters.listening and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert waiters.poll_seconds == 1.0
        await asyncio.wait_for(listener.connected.wait(), 10)
        ticket = waiters.ticket()
        await asyncio.to_thread(refer_someone, hub, 2)
        await waiters.wait(ticket, 5)
        assert ticket.is_set() and waiters.head == hub.head_position()
    finally:
        await listener.stop()
    assert not waiters.listening
