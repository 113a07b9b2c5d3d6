"""What encrypting the replica costs: board open, a move and a sync on a SQLCipher replica
against a plain one, side by side in the same run. Target: encrypted <= 20 % slower.

    .venv/bin/python bench/encryption.py [--runs 7] [--journeys 450] [--batch 20] [--statements]

The server is the real API in-process (ASGI) on a SQLite file, the same for both replicas, so
the difference is the replica's storage alone. Each replica is logged in and bootstrapped from
the server's snapshot first. Then, per run and per replica:
- board open: open the database (a new engine; the key is derived once per process, as d2a does
  once per run, and that scrypt time is printed on its own) and read the board's cards;
- a move: one card moved (the local event, projection and outbox row in one transaction);
- a sync: `--batch` moves pushed and the server's events pulled back.
Each replica moves journeys of its own (a third of them each): when they moved the same ones,
every replica but the first to sync in a run met the others' moves of its journeys (merged,
then fetched whole) and did several times the work, which read as the driver's cost.
Figures are medians; patients are synthetic. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.services.hub import Hub
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, make_engine, remember_key
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync import admin
from d2a_tui.sync.client import SyncClient
from d2a_tui.sync.login import Login
from d2a_tui.sync.replica_hub import ReplicaSync
from d2a_tui.sync.server import create_app

BASE = "http://d2a.bench"
KINDS = ("plain", "encrypted", "unkeyed")
PASSPHRASE = "bench passphrase, not a secret"
TARGET = 1.20


class InProcess(httpx.BaseTransport):
    """The ASGI app on its own event loop thread, called synchronously as httpx would a socket."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.inner = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self.inner.request(
                request.method, request.url, headers=request.headers, content=request.read()
            )
            await response.aread()
            return response

        answer = asyncio.run_coroutine_threadsafe(call(), self.loop).result()
        # Handed back decoded: the encoding headers no longer describe the body.
        headers = [
            (k, v)
            for k, v in answer.headers.items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def unkeyed_engine(path: Path) -> Engine:
    """SQLCipher's driver and SQLite build with no key: what the driver costs, apart from the
    encryption."""
    import sqlcipher3

    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlcipher3.connect(str(path), check_same_thread=False, timeout=15),
        poolclass=QueuePool,
        pool_use_lifo=True,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")

    return engine


class Statements:
    """Time in each SQL statement (its execute: the first row's step) while `on`, by its text."""

    def __init__(self) -> None:
        self.on = False
        self.seconds: dict[str, list[float]] = defaultdict(list)


def watch_statements(engine: Engine) -> Statements:
    watched = Statements()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(connection: Any, _cursor: Any, _sql: str, *_: Any) -> None:
        connection.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if watched.on:
            took = time.perf_counter() - connection.info["bench_started"]
            watched.seconds[" ".join(sql.split())[:70]].append(took)

    return watched


def print_statements(statements: dict[str, Statements], runs: int) -> None:
    """The statements of a sync, per sync: count and milliseconds on each replica, those the
    encrypted replica spends most more time in than the plain one first."""
    plain, encrypted, unkeyed = (statements[kind].seconds for kind in KINDS)

    def per_sync(seconds: dict[str, list[float]], sql: str) -> float:
        return sum(seconds.get(sql, [])) * 1000 / runs

    rows = sorted(
        set(plain) | set(encrypted),
        key=lambda sql: per_sync(plain, sql) - per_sync(encrypted, sql),
    )
    print(f"per sync: {'n':>5} {'plain':>8} {'encr.':>8} {'no key':>8}  statement")
    for sql in rows[:10]:
        print(
            f"          {len(encrypted.get(sql, [])) / runs:>5.0f} {per_sync(plain, sql):>6.2f}ms "
            f"{per_sync(encrypted, sql):>6.2f}ms {per_sync(unkeyed, sql):>6.2f}ms  {sql}"
        )
    totals = [
        sum(map(sum, seconds.values())) * 1000 / runs for seconds in (plain, encrypted, unkeyed)
    ]
    print(f"   all:        {totals[0]:>6.2f}ms {totals[1]:>6.2f}ms {totals[2]:>6.2f}ms")


def replica(tmp: Path, name: str, server: Any, transport: InProcess) -> tuple[Hub, str]:
    path = tmp / f"{name}.db"
    if name == "encrypted":
        remember_key(path, cipher.create_key(path, PASSPHRASE))
    url = f"sqlite:///{path}"
    engine = unkeyed_engine(path) if name == "unkeyed" else make_engine(url)
    ensure_schema(engine)
    _, enrol_token = admin.enrol_device(server, "nina")
    enrolled = SyncClient(BASE, transport=transport).enrol(enrol_token)
    login = Login(BASE, enrolled.token, enrolled.device_id, "nina", "Nina", "night", url)
    client = SyncClient(BASE, enrolled.token, transport=transport)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("nina", enrolled.device_id))
    hub.sync = ReplicaSync(hub, login=login, client=client)
    hub.sync.sync_now(wait=True)
    return hub, url


def open_board(url: str, unkeyed: bool) -> int:
    engine = unkeyed_engine(Path(url.removeprefix("sqlite:///"))) if unkeyed else make_engine(url)
    try:
        hub = Hub(JourneyStore(engine, load_flow()), Actor("nina", "bench"))
        return len(hub.board())
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--journeys", type=int, default=450)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument(
        "--statements", action="store_true", help="also each statement's time in the syncs"
    )
    args = parser.parse_args()
    needed = len(KINDS) * args.runs * (args.batch + 1)
    if args.journeys < needed:
        parser.error(f"--journeys must be at least {needed} (each replica moves its own)")
    load_before = load_average()
    print(f"d2a encryption bench · {platform.python_version()} · {platform.machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="d2a-bench-enc-"))
    server = make_engine(f"sqlite:///{tmp / 'server.db'}")
    ensure_schema(server)
    admin.add_user(server, "Nina", "night", None, "nina")
    console = Hub(JourneyStore(server, load_flow()), Actor("server.admin", "console"))
    for serial in range(args.journeys):
        console.refer(
            nhs_number=next_synthetic(serial * 11)[1], name=f"Bench Person {serial}",
            date_of_birth="1940-01-01", ward="Ward 1", admitted_on="2026-11-01",
        )  # fmt: skip
    transport = InProcess(create_app(server))

    salt = b"0123456789abcdef"
    derive = timed(lambda: cipher._derive(PASSPHRASE + "x", salt, **cipher.SCRYPT))
    hubs = {kind: replica(tmp, kind, server, transport) for kind in KINDS}
    everyone = sorted(card.journey_id for card in console.board())
    own = {kind: set(everyone[index :: len(KINDS)]) for index, kind in enumerate(KINDS)}
    figures: dict[str, dict[str, list[float]]] = {
        kind: {"board open": [], "a move": [], "a sync": []} for kind in hubs
    }
    statements = {kind: watch_statements(hub.store.engine) for kind, (hub, _) in hubs.items()}
    for run in range(args.runs):
        # Interleaved, so all see the same machine load, and each in turn first.
        for kind in KINDS[run % len(KINDS) :] + KINDS[: run % len(KINDS)]:
            hub, url = hubs[kind]
            figures[kind]["board open"].append(
                timed(lambda url=url, kind=kind: open_board(url, kind == "unkeyed"))
            )
            board = hub.board()
            waiting = [
                c.journey_id for c in board if c.column == "referred" and c.journey_id in own[kind]
            ]
            journey = waiting.pop()
            figures[kind]["a move"].append(timed(lambda j=journey, h=hub: h.move(j, "triage")))
            for other in waiting[: args.batch]:
                hub.move(other, "triage")
            statements[kind].on = True
            figures[kind]["a sync"].append(timed(lambda h=hub: h.sync.sync_now(wait=True)))
            statements[kind].on = False

    print(f"{args.journeys} journeys, {args.runs} runs, a sync pushes {args.batch} moves")
    print(f"load average before/after: {load_before} / {load_average()}")
    print(f"scrypt key derivation (once per run of d2a): {derive * 1000:.0f} ms")
    print(
        f"{'':<12} {'plain':>10} {'encrypted':>10} {'ratio':>7}  target <= {TARGET:.2f}"
        f"  {'no key*':>10} {'enc/no key':>10}"
    )
    worst = 0.0
    for what in ("board open", "a move", "a sync"):
        plain, encrypted, unkeyed = (statistics.median(figures[k][what]) for k in KINDS)
        ratio = encrypted / plain
        worst = max(worst, ratio)
        mark = "ok" if ratio <= TARGET else "OVER"
        print(
            f"{what:<12} {plain * 1000:>8.1f}ms {encrypted * 1000:>8.1f}ms {ratio:>7.2f}  "
            f"{mark:<16}{unkeyed * 1000:>8.1f}ms {encrypted / unkeyed:>10.2f}"
        )
    print("* the same replica through sqlcipher3's driver and SQLite build, with no key")
    if args.statements:
        print_statements(statements, args.runs)
    for hub, _ in hubs.values():
        hub.close()
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
