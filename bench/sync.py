"""Sync benchmark: a night's offline work against a real `d2a serve` process on PostgreSQL.

    .venv/bin/python bench/sync.py [--runs 3] [--mutations 1000]

(a) 1,000 mutations made on a replica while offline (referrals, moves, delays, notes), then one
    full sync (push all, pull until up to date) on loopback: target <= 3 s.
(b) the same through a simulated 64 kbit/s link with a round trip per request: target <= 30 s.
(c) gzip bytes on the wire per pushed mutation (target <= 150) and per pulled event.
(f) the same night through a poor mobile link: 9.6 kbit/s, 600 ms round trip, 2 % of TCP segments
    lost (each loss costs a round trip, as a fast retransmit does).
(d) server ingest from 4 devices pushing at once: target >= 500 mutations/s.
(e) an idle pull: one 304 request, its bytes.

Figures are medians of --runs. Every run uses new devices, so nothing is answered from stored
receipts. Patients are synthetic; nothing identifying is printed. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync import admin
from d2a_tui.sync.client import SyncClient
from d2a_tui.sync.login import Login
from d2a_tui.sync.protocol import encode_push
from d2a_tui.sync.replica_hub import ReplicaSync

ADMIN_URL = os.environ.get("D2A_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Its own name per checkout when several people bench on one server (the run drops it first).
DATABASE = os.environ.get("D2A_BENCH_SYNC_DB", "d2a_bench_sync")
QUIET = ("--log-level", "warning")
LINK_BITS_PER_SECOND = 64_000
LINK_RTT = 0.1  # seconds: a thin client on a hospital guest Wi-Fi or a mobile link
POOR_BITS_PER_SECOND, POOR_RTT, POOR_LOSS = 9_600, 0.6, 0.02  # a poor mobile link
SEGMENT = 1460  # bytes of payload in one TCP segment
TARGETS = {
    "a": ("full sync of the night's work, loopback", "s", 3.0, "max"),
    "b": ("full sync of the night's work, 64 kbit/s", "s", 12.0, "max"),
    "c": ("gzip bytes per pushed mutation", "B", 40.0, "max"),
    "d": ("ingest, 4 devices at once", "mutations/s", 500.0, "min"),
}


# --- the wire -------------------------------------------------------------------------------


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 20  # + the request/status line


@dataclass
class Wire:
    """Counts what crosses the wire, per endpoint, and optionally paces it like a slow link."""

    bits_per_second: float | None = None
    rtt: float = 0.0
    loss: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(15))
    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    body_sent: Counter[str] = field(default_factory=Counter)
    body_received: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: list[int] = field(default_factory=list)

    def pace(self, size: int) -> None:
        if self.bits_per_second:
            segments = -(-size // SEGMENT)
            lost = sum(self.rng.random() < self.loss for _ in range(segments))
            time.sleep(size * 8 / self.bits_per_second + self.rtt / 2 + lost * self.rtt)


class WireTransport(httpx.BaseTransport):
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        path = request.url.path.rsplit("/", 1)[-1]
        self.wire.requests[path] += 1
        outgoing = len(body) + _header_bytes(request.headers)
        self.wire.sent[path] += outgoing
        self.wire.body_sent[path] += len(body)
        self.wire.pace(outgoing)
        response = self.inner.handle_request(request)
        try:
            raw = b"".join(response.stream)  # still gzipped: what the link carries
        finally:
            response.close()
        incoming = len(raw) + _header_bytes(response.headers)
        self.wire.received[path] += incoming
        self.wire.body_received[path] += len(raw)
        self.wire.statuses.append(response.status_code)
        self.wire.pace(incoming)
        return httpx.Response(
            response.status_code, headers=response.headers, content=raw, request=request
        )

    def close(self) -> None:
        self.inner.close()


# --- the server and its devices -------------------------------------------------------------


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    return url


def start_server(url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "D2A_DATA_DIR": str(home / "server"), "D2A_CONFIG": str(home / "none")}
    process = subprocess.Popen(
        [sys.executable, "-m", "d2a_tui", "serve", "--db", url, "--port", str(port), *QUIET],
        env=env,
        stderr=(home / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"d2a serve exited {process.returncode}; see {home / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("d2a serve did not come up")


@dataclass
class Bench:
    url: str
    base: str
    home: Path
    flow: Flow
    engine: Any
    serial: int = 0
    made: list[Hub] = field(default_factory=list)

    def device(self, user: str) -> tuple[str, str]:
        _, enrol_token = admin.enrol_device(self.engine, user)
        client = SyncClient(self.base)
        try:
            enrolled = client.enrol(enrol_token)
        finally:
            client.close()
        return enrolled.device_id, enrolled.token

    def replica(self, user: str, wire: Wire | None = None) -> tuple[Hub, Wire]:
        device_id, token = self.device(user)
        wire = wire or Wire()
        path = self.home / f"{device_id}.db"
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        login = Login(self.base, token, device_id, user, user, "night", str(engine.url))
        # A long timeout: on a loaded machine a batch can take seconds, and a retry would
        # count its bytes twice.
        client = SyncClient(self.base, token, transport=WireTransport(wire), retries=0, timeout=300)
        hub = Hub(JourneyStore(engine, self.flow), Actor(user, device_id))
        hub.sync = ReplicaSync(hub, login=login, client=client)
        self.made.append(hub)
        return hub, wire

    def refer(self, hub: Hub) -> str:
        self.serial += 1
        serial = self.serial
        return hub.refer(
            next_synthetic(serial * 11)[1],
            f"Synthetic Person {serial}",
            "1940-03-02",
            ward=f"Ward {serial % 12 + 1}",
            bed=f"B{serial % 20 + 1}",
            admitted_on="2026-11-10",
        ).card.journey_id

    def close(self) -> None:
        for hub in self.made:
            hub.close()


def night_of_work(bench: Bench, hub: Hub, count: int, rng: random.Random) -> Counter[str]:
    """`count` local commands in the mix a night shift makes; returns the mix."""
    delay_codes = [reason.code for reason in DELAY_REASONS]
    open_journeys = [card.journey_id for card, _ in hub.list_cards()]
    mix: Counter[str] = Counter()
    weights = {"refer": 12, "move": 38, "set_delay": 15, "add_note": 35}
    while sum(mix.values()) < count:
        kind = rng.choices(list(weights), list(weights.values()))[0]
        if kind == "refer" or not open_journeys:
            open_journeys.append(bench.refer(hub))
            mix["refer"] += 1
            continue
        journey_id = rng.choice(open_journeys)
        card = hub.journey(journey_id).card
        if kind == "move":
            targets = [c for c in bench.flow.column(card.column).moves if c != "closed"]
            if not targets:
                continue
            hub.move(journey_id, rng.choice(targets))
        elif kind == "set_delay":
            hub.set_delay(
                journey_id, rng.choice([c for c in delay_codes if c != card.delay_reason])
            )
        else:
            hub.add_note(journey_id, rng.choice(NOTES))
        mix[kind] += 1
    return mix


NOTES = (
    "family aware, daughter to collect",
    "awaiting package of care start date from provider",
    "OT assessment done, equipment ordered",
    "medically optimised, TTOs requested",
    "bed offered at Elm Lodge, awaiting acceptance",
    "social worker allocated, assessment tomorrow",
)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


# --- the measurements -----------------------------------------------------------------------


def night_sync(bench: Bench, count: int, rng: random.Random, wire: Wire) -> dict[str, Any]:
    """One night replica: synced, then offline for `count` commands, then one full sync."""
    hub, wire = bench.replica("bench.night", wire)
    hub.sync.sync_now(wait=True)  # up to date before the night begins
    mix = night_of_work(bench, hub, count, rng)
    pushed_before, pulled_before = wire.body_sent["push"], wire.body_received["pull"]
    receipts_before = wire.body_received["push"]
    up, down, requests = sum(wire.sent.values()), sum(wire.received.values()), wire.requests.total()
    seconds, report = timed(lambda: hub.sync.sync_now(wait=True))
    assert report.pushed == count and hub.sync.sync_status().pending == 0, "sync did not finish"
    return {
        "seconds": seconds,
        "pushed": report.pushed,
        "pulled": report.pulled,
        "push_bytes": wire.body_sent["push"] - pushed_before,
        "pull_bytes": wire.body_received["pull"] - pulled_before,
        "receipt_bytes": wire.body_received["push"] - receipts_before,
        "up": sum(wire.sent.values()) - up,
        "down": sum(wire.received.values()) - down,
        "requests": wire.requests.total() - requests,
        "mix": ", ".join(f"{n} {kind}" for kind, n in mix.most_common()),
    }


def ingest(bench: Bench, devices: int, each: int, rng: random.Random) -> float:
    """Mutations per second the server applies while `devices` push their batches at once."""
    bodies: list[list[bytes]] = []
    hubs = []
    for _ in range(devices):
        hub, _ = bench.replica("bench.night")
        hub.sync.sync_now(wait=True)
        night_of_work(bench, hub, each, rng)
        hubs.append(hub)
    for hub in hubs:
        batches = []
        pending = hub.sync.replica.pending_batch(each)
        for start in range(0, len(pending), 250):
            body = encode_push(hub.sync.replica.device_id, pending[start : start + 250])
            batches.append(gzip.compress(json.dumps(body, separators=(",", ":")).encode()))
        bodies.append(batches)
    barrier = threading.Barrier(devices + 1)
    failures: list[str] = []

    def push(hub: Hub, batches: list[bytes]) -> None:
        headers = {
            "Authorization": f"Bearer {hub.sync.login.token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        with httpx.Client(base_url=bench.base, timeout=120) as http:
            barrier.wait()
            for batch in batches:
                answer = http.post("/v1/sync/push", content=batch, headers=headers)
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code}")

    threads = [
        threading.Thread(target=push, args=(hub, batches))
        for hub, batches in zip(hubs, bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"ingest pushes failed: {failures[:5]}")
    return devices * each / seconds


def empty_pull(bench: Bench) -> tuple[int, int, int, int]:
    hub, wire = bench.replica("bench.day")
    hub.sync.sync_now(wait=True)
    before_requests, before = sum(wire.requests.values()), len(wire.statuses)
    sent, received = sum(wire.sent.values()), sum(wire.received.values())
    hub.sync.sync_now(wait=True)
    statuses = wire.statuses[before:]
    return (
        sum(wire.requests.values()) - before_requests,
        statuses[0] if statuses else 0,
        sum(wire.sent.values()) - sent,
        sum(wire.received.values()) - received,
    )


def verdict(key: str, value: float) -> str:
    label, unit, target, kind = TARGETS[key]
    ok = value <= target if kind == "max" else value >= target
    sign = "<=" if kind == "max" else ">="
    return f"({key}) {label}: {value:,.2f} {unit}  target {sign} {target:g}  {'PASS' if ok else 'MISS'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mutations", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=300, help="open journeys before the night")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--skip-ingest", action="store_true", help="leave out (d)")
    parser.add_argument(
        "--bytes-only",
        action="store_true",
        help="(a) and (c) only: the loopback night and its bytes, without the slow links or (d)",
    )
    args = parser.parse_args()
    rng = random.Random(2026)

    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    url = fresh_database()
    with tempfile.TemporaryDirectory(prefix="d2a-bench-sync-") as tmp:
        home = Path(tmp)
        port = args.port or _free_port()
        server = start_server(url, home, port)
        engine = make_engine(url)
        bench = Bench(url, f"http://127.0.0.1:{port}", home, load_flow(), engine)
        try:
            admin.add_user(engine, "Bench Night", "night", None, "bench.night")
            admin.add_user(engine, "Bench Day", "coordinator", None, "bench.day")
            day, _ = bench.replica("bench.day")
            for _ in range(args.baseline):
                bench.refer(day)
            day.sync.sync_now(wait=True)
            print(
                f"server: d2a serve (uvicorn, 1 process) on PostgreSQL, {args.baseline} open "
                f"journeys before the night; {args.runs} runs of {args.mutations} mutations"
            )

            loopback, slow, poor, per_push, per_pull, per_receipt = [], [], [], [], [], []
            trips: list[int] = []
            link: list[float] = []
            for _ in range(args.runs):
                watcher, watcher_wire = bench.replica("bench.day")
                watcher.sync.sync_now(wait=True)
                fast = night_sync(bench, args.mutations, rng, Wire())
                if not loopback:
                    print(f"  the night's work: {fast['mix']}")
                loopback.append(fast["seconds"])
                per_push.append(fast["push_bytes"] / fast["pushed"])
                per_receipt.append(fast["receipt_bytes"] / fast["pushed"])
                before = watcher_wire.body_received["pull"]
                report = watcher.sync.sync_now(wait=True)
                per_pull.append((watcher_wire.body_received["pull"] - before) / report.pulled)
                if args.bytes_only:
                    print(
                        f"  run: loopback {fast['seconds']:.2f} s (pushed {fast['pushed']}, "
                        f"{fast['push_bytes'] / fast['pushed']:.1f} B per pushed mutation)"
                    )
                    continue
                throttled = night_sync(
                    bench, args.mutations, rng, Wire(LINK_BITS_PER_SECOND, LINK_RTT)
                )
                slow.append(throttled["seconds"])
                trips.append(throttled["requests"])
                # The link's own share, from the bytes counted: what the wall time would be on an
                # idle machine, less the loopback time (a loaded machine inflates the latter).
                link.append(
                    (throttled["up"] + throttled["down"]) * 8 / LINK_BITS_PER_SECOND
                    + throttled["requests"] * LINK_RTT
                )
                bad = Wire(bits_per_second=POOR_BITS_PER_SECOND, rtt=POOR_RTT, loss=POOR_LOSS)
                mobile = night_sync(bench, args.mutations, rng, bad)
                poor.append(mobile["seconds"])
                print(
                    f"  run: loopback {fast['seconds']:.2f} s (pushed {fast['pushed']}, "
                    f"pulled {fast['pulled']}, {fast['requests']} requests, "
                    f"{fast['up'] / 1000:.1f} kB up, {fast['down'] / 1000:.1f} kB down); "
                    f"64 kbit/s {slow[-1]:.2f} s ({throttled['requests']} requests, "
                    f"{throttled['up'] / 1000:.1f} kB up, {throttled['down'] / 1000:.1f} kB down); "
                    f"poor mobile {poor[-1]:.2f} s ({mobile['requests']} requests, "
                    f"{mobile['up'] / 1000:.1f} kB up, {mobile['down'] / 1000:.1f} kB down)"
                )
            if args.bytes_only:
                print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
                print(verdict("c", statistics.median(per_push)))
                return 0
            rates = (
                [] if args.skip_ingest else [ingest(bench, 4, 500, rng) for _ in range(args.runs)]
            )
            requests, status, sent, received = empty_pull(bench)
        finally:
            bench.close()
            server.terminate()
            server.wait(10)
            engine.dispose()

    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(verdict("a", statistics.median(loopback)))
    print(
        verdict("b", statistics.median(slow))
        + f"  (RTT {LINK_RTT * 1000:.0f} ms, {statistics.median(trips):.0f} round trips)"
    )
    print(
        f"    of which the link (bytes ÷ 64 kbit/s + round trips × RTT): "
        f"{statistics.median(link):.2f} s; the rest is the loopback sync's own time"
    )
    print(verdict("c", statistics.median(per_push)))
    print(
        f"    gzip bytes per receipt (the push's answer): {statistics.median(per_receipt):,.1f} B"
    )
    print(
        f"    gzip bytes per pulled event (another terminal): {statistics.median(per_pull):,.1f} B"
    )
    if rates:
        print(verdict("d", statistics.median(rates)) + "  (4 x 500 mutations, batches of 250)")
    print(
        f"(f) full sync of the night's work, poor mobile link ({POOR_BITS_PER_SECOND / 1000:g} "
        f"kbit/s, RTT {POOR_RTT * 1000:.0f} ms, {POOR_LOSS:.0%} loss): {statistics.median(poor):.2f} s"
    )
    print(
        f"(e) idle pull: {requests} request, HTTP {status}, {sent} B up + {received} B down "
        "(headers included)"
    )
    return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    raise SystemExit(main())
