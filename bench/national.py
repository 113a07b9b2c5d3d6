"""A national day on one PostgreSQL database: many systems, their localities, months of history.

    .venv/bin/python bench/national.py                      # 42 systems x 3 localities, 90 days
    .venv/bin/python bench/national.py --per-system 1 --days 45   # scaled down: says so

Seeds (once; kept as the database d2a_bench_national_<systems>x<per-system>_<days>d) through the
bulk load path (`EventLog.bulk_load`, COPY), then measures, median of --runs after a warm-up:
a locality's board (its open journeys, filtered in SQL), that locality's sitrep and 30-day length
of stay, a coordinator's pull of the newest 1,000 events through the real API (in-process), and
the national sitrep for a day across every system. The floors are the same reads on a database
holding that one locality alone (bench/seed_and_query.py's d2a_bench_locality_<days>d, seeded if
missing). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import load_flow
from d2a_tui.seed import PROFILES, Profile, seed_database
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore

ADMIN_URL = os.environ.get("D2A_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def localities(systems: int, per_system: int) -> tuple[str, ...]:
    # The first is the locality a standalone hub seeds, so the floor compares like with like.
    names = [
        f"System {s:02d} {chr(65 + k)}" for s in range(1, systems + 1) for k in range(per_system)
    ]
    names[0] = "Stockport"
    return tuple(names)


def database(name: str, profile: str, days: int) -> str:
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if found is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    if found is None:
        print(f"seeding {name} ({profile}, {days} days)…", file=sys.stderr, flush=True)
        summary = seed_database(url, profile=profile, days=days, now=NOW, progress=True)
        print(f"  {summary}", file=sys.stderr, flush=True)
    engine = make_engine(url)
    ensure_schema(engine)  # an older bench database gets this code's indexes
    engine.dispose()
    return url


def median_ms(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = action()  # warm-up: connections, the database's cache, the summaries' catch-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def coordinator_pull(url: str, runs: int) -> tuple[float, int]:
    from fastapi.testclient import TestClient

    from d2a_tui.sync import admin
    from d2a_tui.sync.server import create_app

    engine = make_engine(url)
    user = "bench.coordinator"
    with contextlib.suppress(D2AError):  # there from an earlier run
        admin.add_user(engine, "Bench Coordinator", "coordinator", None, user)
    _, enrol_token = admin.enrol_device(engine, user)
    with TestClient(create_app(engine)) as http:
        token = http.post("/v1/devices/enrol", json={"token": enrol_token}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        head = http.get("/v1/sync/pull", params={"since": 0, "limit": 1}, headers=headers).json()
        since = max(head["head"] - 1000, 0)

        def pull() -> int:
            answer = http.get(
                "/v1/sync/pull", params={"since": since, "limit": 1000}, headers=headers
            )
            return len(answer.json()["events"])

        seconds, count = median_ms(pull, runs)
    engine.dispose()
    return seconds, count


def measure(url: str, locality: str, runs: int, whole: bool) -> dict[str, Any]:
    hub = Hub(JourneyStore(make_engine(url), load_flow()), Actor("bench", "bench"), lambda: NOW)
    figures: dict[str, Any] = {}
    figures["board"], cards = median_ms(lambda: hub.store.open_cards(locality=locality), runs)
    figures["open"] = len(cards)
    figures["sitrep"], _ = median_ms(
        lambda: hub.reports.sitrep(NOW.date(), locality=locality), runs
    )
    figures["los"], _ = median_ms(lambda: hub.reports.los(locality=locality), runs)
    figures["pull"], figures["pulled"] = coordinator_pull(url, runs)
    if whole:
        figures["national"], _ = median_ms(lambda: hub.reports.sitrep(NOW.date()), runs)
        figures["all_open"] = len(hub.store.open_cards())
    hub.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=42)
    parser.add_argument("--per-system", type=int, default=3, help="localities in each system")
    parser.add_argument("--days", type=int, default=90, help="days of history")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    names = localities(args.systems, args.per_system)
    profile = f"national_{args.systems}x{args.per_system}"
    PROFILES[profile] = Profile(localities=names)
    print(
        f"national day · {os.cpu_count()} CPUs {platform.machine()} · Python "
        f"{platform.python_version()} · PostgreSQL · median of {args.runs} · load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    if (args.systems, args.per_system, args.days) != (42, 3, 90):
        print(
            f"SCALED DOWN: {args.systems} systems × {args.per_system} localities, {args.days} days "
            "of history (the full profile is 42 × 3 localities, 90 days)"
        )
    alone = database(f"d2a_bench_locality_{args.days}d", "locality", args.days)
    national = database(f"d2a_bench_{profile}_{args.days}d", profile, args.days)
    floor = measure(alone, "Stockport", args.runs, whole=False)
    found = measure(national, "Stockport", args.runs, whole=True)
    print(f"one database: {len(names)} localities, {found['all_open']:,} open journeys")
    print(f"{'':<44} {'locality alone':>15} {'national db':>12}")
    rows = (
        ("a locality's board (its open journeys)", "board"),
        ("its sitrep for the day", "sitrep"),
        ("its length of stay, 30 days", "los"),
        ("a coordinator's pull of 1,000 events", "pull"),
    )
    for label, key in rows:
        print(f"{label:<44} {floor[key]:12.1f} ms {found[key]:9.1f} ms")
    print(f"{'(open cards on that board)':<44} {floor['open']:15,} {found['open']:12,}")
    print(f"national sitrep for the day, every system: {found['national']:.0f} ms (target ≤ 2,000)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
