"""What encrypting the replica costs: board open, a move and a sync on a SQLCipher replica
against a plain one, side by side in the same run. Target: encrypted <= 20 % slower.

    .venv/bin/python bench/encryption.py [--runs 7] [--journeys 300] [--batch 20]

The server is the real API in-process (ASGI) on a SQLite file, the same for both replicas, so
the difference is the replica's storage alone. Each replica is logged in and bootstrapped from
the server's snapshot first. Then, per run and per replica:
- board open: open the database (a new engine; the key is derived once per process, as d2a does
  once per run, and that scrypt time is printed on its own) and read the board's cards;
- a move: one card moved (the local event, projection and outbox row in one transaction);
- a sync: `--batch` moves pushed and the server's events pulled back.
Figures are medians; patients are synthetic. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.hub import Hub
from d2a_tui.storage import cipher
from d2a_tui.storage.db import ensure_schema, make_engine, remember_key
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync import admin
from d2a_tui.sync.client import SyncClient
from d2a_tui.sync.login import Login
from d2a_tui.sync.replica_hub import ReplicaSync
from d2a_tui.sync.server import create_app

BASE = "http://d2a.bench"
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


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def replica(
    tmp: Path, name: str, server: Any, transport: InProcess, encrypted: bool
) -> tuple[Hub, str]:
    path = tmp / f"{name}.db"
    if encrypted:
        remember_key(path, cipher.create_key(path, PASSPHRASE))
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    ensure_schema(engine)
    _, enrol_token = admin.enrol_device(server, "nina")
    enrolled = SyncClient(BASE, transport=transport).enrol(enrol_token)
    login = Login(BASE, enrolled.token, enrolled.device_id, "nina", "Nina", "night", url)
    client = SyncClient(BASE, enrolled.token, transport=transport)
    hub = Hub(JourneyStore(engine, load_flow()), Actor("nina", enrolled.device_id))
    hub.sync = ReplicaSync(hub, login=login, client=client)
    hub.sync.sync_now(wait=True)
    return hub, url


def open_board(url: str) -> int:
    engine = make_engine(url)
    try:
        hub = Hub(JourneyStore(engine, load_flow()), Actor("nina", "bench"))
        return len(hub.board())
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--journeys", type=int, default=300)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
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
    hubs = {
        kind: replica(tmp, kind, server, transport, kind == "encrypted")
        for kind in ("plain", "encrypted")
    }
    figures: dict[str, dict[str, list[float]]] = {
        kind: {"board open": [], "a move": [], "a sync": []} for kind in hubs
    }
    for _ in range(args.runs):
        for kind, (hub, url) in hubs.items():  # interleaved: both see the same machine load
            figures[kind]["board open"].append(timed(lambda url=url: open_board(url)))
            waiting = [c.journey_id for c in hub.board() if c.column == "referred"]
            journey = waiting.pop()
            figures[kind]["a move"].append(timed(lambda j=journey, h=hub: h.move(j, "triage")))
            for other in waiting[: args.batch]:
                hub.move(other, "triage")
            figures[kind]["a sync"].append(timed(lambda h=hub: h.sync.sync_now(wait=True)))

    print(f"{args.journeys} journeys, {args.runs} runs, a sync pushes {args.batch} moves")
    print(f"scrypt key derivation (once per run of d2a): {derive * 1000:.0f} ms")
    print(f"{'':<12} {'plain':>10} {'encrypted':>10} {'ratio':>7}  target <= {TARGET:.2f}")
    worst = 0.0
    for what in ("board open", "a move", "a sync"):
        plain = statistics.median(figures["plain"][what])
        encrypted = statistics.median(figures["encrypted"][what])
        ratio = encrypted / plain
        worst = max(worst, ratio)
        mark = "ok" if ratio <= TARGET else "OVER"
        print(f"{what:<12} {plain * 1000:>8.1f}ms {encrypted * 1000:>8.1f}ms {ratio:>7.2f}  {mark}")
    for hub, _ in hubs.values():
        hub.close()
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
