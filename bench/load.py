"""Load: many terminals on one PostgreSQL and many devices through two `d2a serve` processes.

    .venv/bin/python bench/load.py [--quick] [--duration 120] [--scenarios 10x50,50x200]

Each scenario `NxM` runs, for --duration seconds (default 120; --quick: 15), on loopback only:
- N boards on the hub's PostgreSQL database, each doing what the board's live refresh does
  through the Hub (the head every second, the changed cards when it moved) and moving a card to
  the next step of its pathway every --move-every seconds (jittered);
- M devices, half on each of two `d2a serve` processes on that database, each long-polling
  (`wait`) for others' events and pushing a note every --push-every seconds (jittered).
Reported: p50/p99 of a board's move (the command, committed), of a device's push (acknowledged),
of delivery (an event's recording to a waiting device having it), the servers' CPU per device,
and errors, which must be zero (a move that meets another board's newer version is a conflict,
counted apart: the rules working, not an error). Also the load average, which includes whatever
else the machine was doing, and the harness's own CPU. Boards run up to 25 to a worker process,
each with its own database connection as a terminal has; devices run in two more processes.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.event_log import VersionConflict
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.sync import admin

ADMIN_URL = os.environ.get("D2A_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# A run beside others on one PostgreSQL names its own database.
DATABASE = os.environ.get("D2A_BENCH_DATABASE", "d2a_bench_load")
TARGET_MOVE_P99_MS = 100.0
POLL_SECONDS = 1.0  # the board's poll_interval
LONG_POLL_SECONDS = 25
# Terminals are separate processes on separate machines; here they share a few, because on two
# cores every extra interpreter is CPU taken from the servers and the database (five boards a
# process cost the harness 1.2 cores at 50 boards, twenty-five 0.6).
BOARDS_PER_PROCESS = 25
DEVICE_PROCESSES = 2


# --- results ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- boards (a worker process, one thread per board) --------------------------------------------


def board_worker(config: dict[str, Any], count: int, first: int) -> dict[str, Any]:
    flow = load_flow()
    results: dict[str, Any] = {"moves": [], "polls": [], "conflicts": 0, "errors": []}
    lock = threading.Lock()

    def board(index: int) -> None:
        rng = random.Random(index)
        # Any allowed move but closing (which needs an outcome): the card changes column.
        targets = {c.id: [m for m in c.moves if m != flow.closed.id] for c in flow.open_columns}
        # Its own engine and connection, as a terminal has: no board waits for another's.
        engine = make_engine(config["url"])
        hub = Hub(JourneyStore(engine, flow), Actor(f"board{index}", f"terminal-{index}"))
        cards = {card.journey_id: card for card in hub.board()}
        position = hub.head_position()
        next_move = time.monotonic() + rng.uniform(0, config["move_every"])
        while time.monotonic() < config["deadline"]:
            try:
                started = time.perf_counter()
                head = hub.head_position()
                if head != position:
                    for card in hub.changes_since(position):
                        if card.closed_at is None:
                            cards[card.journey_id] = card
                        else:
                            cards.pop(card.journey_id, None)
                    position = head
                polled = (time.perf_counter() - started) * 1000
                moved = None
                if time.monotonic() >= next_move and cards:
                    next_move += rng.uniform(0.5, 1.5) * config["move_every"]
                    movable = [c for c in cards.values() if targets.get(c.column)]
                    if movable:
                        card = rng.choice(movable)
                        target = rng.choice(targets[card.column])
                        started = time.perf_counter()
                        try:
                            change = hub.move(card.journey_id, target, base_version=card.version)
                            moved = (time.perf_counter() - started) * 1000
                            cards[card.journey_id] = change.card
                        except VersionConflict:
                            with lock:
                                results["conflicts"] += 1
                with lock:
                    results["polls"].append(polled)
                    if moved is not None:
                        results["moves"].append(moved)
            except D2AError as error:
                with lock:
                    results["errors"].append(f"board: {type(error).__name__}: {error}"[:200])
            time.sleep(POLL_SECONDS)
        engine.dispose()

    threads = [threading.Thread(target=board, args=(first + i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- devices (a worker process, one asyncio task per device) ----------------------------------


async def device_worker_async(
    config: dict[str, Any], devices: list[dict[str, str]]
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "pushes": [],
        "deliveries": [],
        "pulls": 0,
        "retries": 0,
        "errors": [],
    }
    journeys: list[str] = config["journeys"]
    limits = httpx.Limits(
        max_connections=len(devices) * 2, max_keepalive_connections=len(devices) * 2
    )
    async with httpx.AsyncClient(timeout=LONG_POLL_SECONDS + 30, limits=limits) as http:

        async def send(request: httpx.Request) -> httpx.Response:
            # As the sync client does: a request whose connection broke is sent again (a push
            # is answered from its receipts if it had arrived). Counted, not hidden.
            try:
                return await http.send(request)
            except httpx.TransportError:
                results["retries"] += 1
                return await http.send(request)

        async def device(spec: dict[str, str], index: int) -> None:
            rng = random.Random(index)
            auth = {"Authorization": f"Bearer {spec['token']}"}
            base = spec["server"]
            seq = 0

            async def pushing() -> None:
                nonlocal seq
                await asyncio.sleep(rng.uniform(0, config["push_every"]))
                while time.monotonic() < config["deadline"]:
                    seq += 1
                    body = {
                        "schema_version": 1,
                        "device_id": spec["device_id"],
                        "mutations": [
                            {
                                "kind": "command",
                                "mutation_id": uuid7(),
                                "client_seq": seq,
                                "actor": spec["user"],
                                "occurred_at": datetime.now(UTC).isoformat(),
                                "command": "add_note",
                                "journey_id": rng.choice(journeys),
                                "args": {"text": "rang the ward, no change"},
                            }
                        ],
                    }
                    started = time.perf_counter()
                    try:
                        response = await send(
                            http.build_request(
                                "POST", f"{base}/v1/sync/push", json=body, headers=auth
                            )
                        )
                        if response.status_code != 200:
                            results["errors"].append(
                                f"push {response.status_code}: {response.text[:120]}"
                            )
                        else:
                            results["pushes"].append((time.perf_counter() - started) * 1000)
                    except httpx.HTTPError as error:
                        results["errors"].append(f"push: {type(error).__name__}")
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * config["push_every"])

            async def pulling() -> None:
                since = config["head"]
                while time.monotonic() < config["deadline"]:
                    wait = min(LONG_POLL_SECONDS, max(0.0, config["deadline"] - time.monotonic()))
                    try:
                        response = await send(
                            http.build_request(
                                "GET",
                                f"{base}/v1/sync/pull",
                                params={"since": since, "wait": round(wait, 1), "limit": 500},
                                headers=auth,
                            )
                        )
                    except httpx.HTTPError as error:
                        results["errors"].append(f"pull: {type(error).__name__}")
                        await asyncio.sleep(1)
                        continue
                    if response.status_code != 200:
                        results["errors"].append(
                            f"pull {response.status_code}: {response.text[:120]}"
                        )
                        await asyncio.sleep(1)
                        continue
                    arrived = datetime.now(UTC)
                    page = response.json()
                    results["pulls"] += 1
                    if page["events"]:
                        newest = datetime.fromisoformat(page["events"][-1]["recorded_at"])
                        if newest.tzinfo is None:
                            newest = newest.replace(tzinfo=UTC)
                        if not page["has_more"]:
                            results["deliveries"].append((arrived - newest).total_seconds() * 1000)
                    since = page["next"]

            await asyncio.gather(pushing(), pulling())

        await asyncio.gather(*(device(spec, i) for i, spec in enumerate(devices)))
    return results


# --- the scenario ----------------------------------------------------------------------------


def sample_lock_queue(url: str, stop: threading.Event, samples: list[tuple[int, int]]) -> None:
    """How many of the database's sessions wait on a lock, and how many of those in a statement
    that moves the event counter, four times a second: the queue the move's p99 waits in, seen
    from the database, whatever else the machine's cores are doing."""
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as connection:
        while not stop.is_set():
            row = connection.execute(
                "SELECT count(*), count(*) FILTER (WHERE query ILIKE '%UPDATE counter%')"
                " FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            samples.append((row[0], row[1]) if row else (0, 0))
            stop.wait(0.25)


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}"


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def start_server(url: str, home: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "D2A_DATA_DIR": str(home / name), "D2A_CONFIG": str(home / "none")}
    process = subprocess.Popen(
        [sys.executable, "-m", "d2a_tui", "serve", "--db", url, "--port", str(port)],
        env=env,
        stderr=(home / f"{name}.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"d2a serve exited {process.returncode}; see {home / name}.log")
        try:
            if httpx.get(f"{base}/v1/ready", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("d2a serve did not become ready")


def prepare(url: str, devices: int, servers: list[str]) -> dict[str, Any]:
    """Seed a locality's recent weeks (open journeys to move), then enrol the devices."""
    from d2a_tui.seed import seed_database

    engine = make_engine(url)
    ensure_schema(engine)
    seed_database(url, profile="locality", days=30, processes=1)
    store = JourneyStore(engine, load_flow())
    journeys = [card.journey_id for card in store.open_cards()]
    head = store.head_position()
    admin.add_user(engine, "Device User", "coordinator", None, "devuser")
    specs = []
    for index in range(devices):
        _, enrol_token = admin.enrol_device(engine, "devuser", f"device {index}")
        server = servers[index % len(servers)]
        answer = httpx.post(f"{server}/v1/devices/enrol", json={"token": enrol_token}, timeout=30)
        if answer.status_code != 200:
            raise SystemExit(f"enrolling device {index}: {answer.status_code} {answer.text[:200]}")
        enrolled = answer.json()
        specs.append(
            {
                "server": server,
                "token": enrolled["token"],
                "device_id": enrolled["device_id"],
                "user": "devuser",
            }
        )
    engine.dispose()
    return {"journeys": journeys, "head": head, "devices": specs}


def run_scenario(boards: int, devices: int, args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="d2a-load-"))
    url = fresh_database()
    ensure_schema(make_engine(url))
    servers = [start_server(url, home, f"server{i}") for i in range(2)]
    try:
        prepared = prepare(url, devices, [base for _, base in servers])
        start = time.time() + 3  # the workers start together, after their imports
        config = {
            "url": url,
            "journeys": prepared["journeys"],
            "head": prepared["head"],
            "move_every": args.move_every,
            "push_every": args.push_every,
            "start": start,
            "duration": args.duration,
        }
        workers = []
        for kind, total, parts in (
            ("boards", boards, max(1, -(-boards // BOARDS_PER_PROCESS))),
            ("devices", devices, DEVICE_PROCESSES),
        ):
            for part in range(parts):
                share = total // parts + (1 if part < total % parts else 0)
                first = part * (total // parts) + min(part, total % parts)
                spec = {**config, "kind": kind, "count": share, "first": first}
                if kind == "devices":
                    spec["devices"] = prepared["devices"][first : first + share]
                path = home / f"{kind}{part}.json"
                path.write_text(json.dumps(spec))
                workers.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker", str(path)],
                        stdout=subprocess.PIPE,
                    )
                )
        time.sleep(max(0.0, start - time.time()))
        cpu_before = [cpu_seconds(p.pid) for p, _ in servers]
        queued: list[tuple[int, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_lock_queue, args=(url, stop, queued))
        sampler.start()
        time.sleep(args.duration)
        cpu_after = [cpu_seconds(p.pid) for p, _ in servers]
        stop.set()
        sampler.join()
        load = os.getloadavg()
        outputs = [json.loads(w.communicate(timeout=args.duration + 120)[0]) for w in workers]
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(30)
        drop_database()
    merged: dict[str, Any] = {"moves": [], "pushes": [], "deliveries": [], "polls": []}
    errors: list[str] = []
    conflicts = pulls = retries = 0
    harness_cpu = 0.0
    for output in outputs:
        for key in merged:
            merged[key].extend(output.get(key, []))
        errors.extend(output["errors"])
        conflicts += output.get("conflicts", 0)
        pulls += output.get("pulls", 0)
        retries += output.get("retries", 0)
        harness_cpu += output["cpu_seconds"]
    server_cpu = sum(after - before for before, after in zip(cpu_before, cpu_after, strict=True))
    return {
        "boards": boards,
        "devices": devices,
        "open_journeys": len(prepared["journeys"]),
        "figures": {
            key: {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99)}
            for key, values in merged.items()
        },
        "conflicts": conflicts,
        "pulls_answered": pulls,
        "retries": retries,
        "harness_cpu_cores": harness_cpu / args.duration,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        # Share of one core per device, in milliseconds of CPU per second of wall time.
        "server_cpu_ms_per_device_second": server_cpu * 1000 / args.duration / devices,
        "server_cpu_cores": server_cpu / args.duration,
        "load_average": load,
        "lock_queue_mean": sum(q for q, _ in queued) / len(queued) if queued else 0.0,
        "lock_queue_max": max((q for q, _ in queued), default=0),
        "counter_queue_mean": sum(c for _, c in queued) / len(queued) if queued else 0.0,
    }


def worker(path: str) -> None:
    spec = json.loads(Path(path).read_text())
    time.sleep(max(0.0, spec["start"] - time.time()))
    spec["deadline"] = time.monotonic() + spec["duration"]
    if spec["kind"] == "boards":
        result = board_worker(spec, spec["count"], spec["first"])
    else:
        result = asyncio.run(device_worker_async(spec, spec["devices"]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="15 s per scenario")
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--scenarios", default="10x50,50x200", help="NxM: boards x devices")
    parser.add_argument(
        "--move-every", type=float, default=10.0, help="seconds between a board's moves"
    )
    parser.add_argument(
        "--push-every", type=float, default=60.0, help="seconds between a device's pushes"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.quick:
        args.duration = 15.0
    print(
        f"# d2a load: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"# {args.duration:.0f} s per scenario; a board moves every ~{args.move_every:.0f} s, "
        f"a device pushes every ~{args.push_every:.0f} s; two d2a serve processes, one PostgreSQL"
    )
    failed = False
    for scenario in args.scenarios.split(","):
        boards, devices = (int(part) for part in scenario.lower().split("x"))
        result = run_scenario(boards, devices, args)
        figures = result["figures"]
        print(f"\n## {boards} boards, {devices} devices ({result['open_journeys']} open journeys)")
        print(f"{'':28} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for key, label in (
            ("moves", "board move committed"),
            ("polls", "board refresh (head+changes)"),
            ("pushes", "device push acknowledged"),
            ("deliveries", "event to waiting device"),
        ):
            f = figures[key]
            print(f"{label:28} {f['n']:>7} {ms(f['p50']):>8} {ms(f['p99']):>8}")
        print(
            f"pulls answered {result['pulls_answered']}, move conflicts {result['conflicts']}, "
            f"requests sent again after a broken connection {result['retries']}, "
            f"errors {result['errors']}"
        )
        for sample in result["error_samples"]:
            print(f"  error: {sample}")
        print(
            f"server CPU: {result['server_cpu_cores']:.2f} cores in all, "
            f"{result['server_cpu_ms_per_device_second']:.2f} ms per device per second; "
            f"the harness's boards and devices: {result['harness_cpu_cores']:.2f} cores"
        )
        print(
            f"sessions waiting on a lock (sampled 4 a second): "
            f"mean {result['lock_queue_mean']:.1f}, max {result['lock_queue_max']}; "
            f"of them in a statement moving the event counter: mean "
            f"{result['counter_queue_mean']:.1f}"
        )
        load = ", ".join(f"{x:.2f}" for x in result["load_average"])
        print(f"load average at the end: {load}")
        p99 = figures["moves"]["p99"]
        met = result["errors"] == 0 and p99 is not None and p99 <= TARGET_MOVE_P99_MS
        print(
            f"target (p99 move <= {TARGET_MOVE_P99_MS:.0f} ms, no errors): {'met' if met else 'NOT met'}"
        )
        failed = failed or not met
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
