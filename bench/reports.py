"""How fast the reports and the dashboard are, on the year-long databases. Not a test.

    .venv/bin/python bench/reports.py                       # the four kept bench databases
    .venv/bin/python bench/reports.py sqlite:////tmp/x.db postgresql://postgres@127.0.0.1/y

The defaults are the databases `bench/seed_and_query.py --keep /tmp/d2a-bench` leaves behind
(a year of history, seed 2026); one that does not exist yet is skipped with a line saying so.
The clock is frozen at the seeds' "now", so every run asks the same questions of the same data.
Each figure is the median of 5 runs after one warm-up; the warm-up (the first, cold run in this
process: new connections, a cold plan cache) is shown on its own. Target: 1 s each (issue 4).

Nothing here changes the data: the reports only read, apart from folding into their summary
tables any events committed since the last fold (there are none on a freshly seeded database).
Opening a database with a d2a newer than its schema upgrades it, as `d2a` itself would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # bench/seed_and_query.py's frozen "now"
TARGET = 1.0
RUNS = 5
SIZE = (160, 50)
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DEFAULTS = (
    f"{POSTGRES}/d2a_bench_region_365d",
    f"{POSTGRES}/d2a_bench_locality_365d",
    "sqlite:////tmp/d2a-bench/d2a_bench_locality_365d.db",
    "sqlite:////tmp/d2a-bench/d2a_bench_region_365d.db",
)


@dataclass
class Timing:
    name: str
    cold: float
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def worst(self) -> float:
        return max(self.cold, *self.runs)


def missing(url: str) -> str | None:
    """Why this database cannot be benchmarked yet, or None. Never creates one."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        return None if path.exists() else f"no file {path}"
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, connect_timeout=5) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
    except psycopg.Error as error:
        return f"cannot reach PostgreSQL: {str(error).strip().splitlines()[0]}"
    return None if found else f"no database {name}"


def label(url: str) -> str:
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    return f"{backend} {url.rsplit('/', 1)[1].removesuffix('.db')}"


def timed(name: str, call: Callable[[], Any], runs: int = RUNS) -> Timing:
    started = time.perf_counter()
    call()
    cold = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return Timing(name, cold, times)


def sizes(hub: Any) -> tuple[int, int]:
    from d2a_tui.storage.models import Journey, JourneyEvent

    with hub.store.engine.connect() as connection:
        journeys = connection.execute(select(func.count()).select_from(Journey)).scalar_one()
        events = connection.execute(select(func.count()).select_from(JourneyEvent)).scalar_one()
    return int(journeys), int(events)


def open_hub(url: str) -> Any:
    from d2a_tui.services.hub import Hub

    return Hub.open(url, user="bench", clock=lambda: NOW)


def report_timings(hub: Any) -> list[Timing]:
    reports, capacity, alerts = hub.reports, hub.capacity, hub.alerts
    today: date = reports.today()
    year_ago = today - timedelta(days=364)
    month_ago = today - timedelta(days=29)

    def dashboard_operational() -> Any:
        return reports.operational(), capacity.gap_by_pathway()

    def dashboard_refresh() -> Any:
        # What the dashboard's background refresh asks for, every minute.
        return reports.operational(), capacity.gap_by_pathway(), reports.strategic(30)

    return [
        timed("sitrep (a day)", lambda: reports.sitrep(today)),
        timed("sitrep --week", lambda: reports.sitrep(today, week=True)),
        timed("sitrep --month", lambda: reports.sitrep(today, month=True)),
        timed("sitrep --week --month", lambda: reports.sitrep(today, week=True, month=True)),
        timed("los 30 days", lambda: reports.los(month_ago, today)),
        timed("los 365 days", lambda: reports.los(year_ago, today)),
        timed("flow 30 days", lambda: reports.flow(month_ago, today)),
        timed("flow 365 days", lambda: reports.flow(year_ago, today)),
        timed("dashboard operational", dashboard_operational),
        timed("dashboard strategic 30 days", lambda: reports.strategic(30)),
        timed("dashboard strategic 365 days", lambda: reports.strategic(365)),
        timed("dashboard refresh (all, 30 days)", dashboard_refresh),
        timed("demand vs capacity", capacity.gap_by_pathway),
        timed("demand --trend (30 days)", lambda: (capacity.gap_by_pathway(), capacity.trend())),
        timed("alerts list", lambda: alerts.list(include_snoozed=False)),
    ]


def shown(screen: Any) -> bool:
    """The dashboard's figures are on screen: the title has them and the screen has painted."""
    from textual.widgets import Static

    try:
        title = str(screen.query_one("#dash-title", Static).content)
    except Exception:
        return False
    return title.startswith("Dashboard at") and screen.is_current and not screen._dirty_regions


async def dashboard_open(url: str, runs: int = RUNS) -> Timing:
    """From pushing DashboardScreen on the running app (as `D` on the board does) until its
    figures are painted. The board is loaded first, and its poll slowed, so it does not race."""
    from d2a_tui.app import D2AApp
    from d2a_tui.config import Settings
    from d2a_tui.screens.dashboard import DashboardScreen

    hub = open_hub(url)
    app = D2AApp(hub, Settings(database_url=url, user="bench"), poll_interval=3600)
    times: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        board = app.screen_stack[0]
        while not getattr(board, "loaded", True):
            await pilot.pause(0.01)
        for _ in range(runs + 1):
            started = time.perf_counter()
            screen = DashboardScreen(hub)
            await app.push_screen(screen)
            while not shown(screen):
                await pilot.pause(0.002)
            times.append(time.perf_counter() - started)
            await app.pop_screen()
            await pilot.pause()
    hub.close()
    return Timing("dashboard opens (headless, painted)", times[0], times[1:])


def seconds(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def print_table(timings: list[Timing]) -> None:
    width = max(len(t.name) for t in timings)
    print(f"  {'':<{width}}  {'median of 5':>12}  {'cold (1st)':>11}  target 1 s")
    for t in timings:
        verdict = "pass" if t.median <= TARGET else "MISS"
        cold_note = "" if t.cold <= TARGET else "  (cold run over)"
        print(
            f"  {t.name:<{width}}  {seconds(t.median):>12}  {seconds(t.cold):>11}  "
            f"{verdict}{cold_note}"
        )


def bench(url: str) -> list[Timing]:
    from d2a_tui.storage.db import SCHEMA_HEAD, current_revision, make_engine

    engine = make_engine(url)
    revision = current_revision(engine)
    engine.dispose()
    started = time.perf_counter()
    hub = open_hub(url)
    upgraded = time.perf_counter() - started
    journeys, events = sizes(hub)
    print(f"\n{label(url)}: {journeys:,} journeys, {events:,} events (load {load()})")
    if revision != SCHEMA_HEAD:
        print(f"  schema upgraded {revision} -> {SCHEMA_HEAD} on opening, in {seconds(upgraded)}")
    folded = hub.reports.summary.catch_up()
    if folded:
        print(f"  folded {folded:,} events the summaries had not seen yet")
    timings = report_timings(hub)
    hub.close()
    timings.append(asyncio.run(dashboard_open(url)))
    print_table(timings)
    return timings


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="*", help="database URLs (default: the kept bench ones)")
    args = parser.parse_args()
    os.environ.setdefault("D2A_TIMEZONE", "Europe/London")
    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )
    print(f"frozen now: {NOW.isoformat()}; load average at start: {load()}")
    misses = 0
    for url in args.urls or DEFAULTS:
        why = missing(url)
        if why:
            print(f"\n{label(url)}: skipped, {why}")
            continue
        misses += sum(1 for t in bench(url) if t.median > TARGET)
    print(f"\nload average at end: {load()}; {misses or 'no'} figure(s) over the 1 s target")
    sys.exit(0)


if __name__ == "__main__":
    main()
