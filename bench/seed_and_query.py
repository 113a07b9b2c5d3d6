"""Seed a region year and time the board query, on SQLite and PostgreSQL.

Prints figures; never run as a test. Seeding is timed once per backend (a region year takes
minutes); the board query (every open journey with what its card needs, one query) is the median
of five runs, at locality and at region size.

    .venv/bin/python bench/seed_and_query.py                      # both backends, region year
    .venv/bin/python bench/seed_and_query.py --days 60 --backend sqlite
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from d2a_tui.domain.flow import load_flow
from d2a_tui.seed import seed_database
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def fresh_url(backend: str, name: str, folder: Path) -> str:
    if backend == "sqlite":
        for stale in folder.glob(f"{name}.db*"):
            stale.unlink()
        return f"sqlite:///{folder / f'{name}.db'}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def time_board(url: str, runs: int = 5) -> tuple[float, int]:
    hub = Hub(JourneyStore(make_engine(url), load_flow()), Actor("bench", "bench"), lambda: NOW)
    hub.board()  # warm the connection pool and the database's cache, as a running board would be
    times = []
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = len(hub.board())
        times.append(time.perf_counter() - started)
    hub.close()
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the SQLite files in this folder (PostgreSQL databases are always kept, as "
        "d2a_bench_<profile>_<days>d) so bench/reports.py and bench/board.py can reuse them",
    )
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            for profile in ("locality", "region"):
                url = fresh_url(backend, f"d2a_bench_{profile}_{args.days}d", folder)
                summary = seed_database(url, profile=profile, days=args.days, now=NOW)
                median, count = time_board(url)
                print(
                    f"{backend:<10} {profile:<8} seed {args.days} days: {summary.seconds:7.1f} s "
                    f"({summary.journeys:,} journeys, {summary.events:,} events, "
                    f"{summary.events / summary.seconds:,.0f} events/s)   "
                    f"board query: {median * 1000:6.1f} ms median of 5 for {count:,} open journeys"
                )


if __name__ == "__main__":
    main()
