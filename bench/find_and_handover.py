"""How fast `d2a find` and `d2a handover` are on a year of history. Not a test.

    .venv/bin/python bench/find_and_handover.py sqlite:////tmp/x.db [postgresql://… …]

Seed one first, e.g. `d2a seed --db /tmp/x.db --days 365 --now 2026-11-23T09:30`. The clock is
frozen at that "now". Each figure is the median of 7 runs after one warm-up, with the floor
beside it in the same run: the cheapest read there is (the event counter), so what a query costs
beyond a round trip to the database is visible.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
RUNS = 7


def median_ms(action: Callable[[], Any]) -> tuple[float, Any]:
    result = action()  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def bench(url: str) -> None:
    from d2a_tui.services.hub import Hub

    hub = Hub.open(url, user="bench", clock=lambda: NOW)
    sample = hub.board()[len(hub.board()) // 2]
    surname = sample.name.split()[-1]
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("floor: the event counter", hub.head_position),
        ("find: an NHS number", lambda: hub.find(sample.nhs_number)),
        ("find: a journey id's first 8", lambda: hub.find(sample.short_id)),
        (f"find: a surname ({surname})", lambda: hub.find(surname)),
        ("find: a full name", lambda: hub.find(sample.name)),
        (f"find: a ward ({sample.ward})", lambda: hub.find(sample.ward or "")),
        ("find: nobody (a name no one has)", lambda: hub.find("Zyxwvut")),
        ("handover: 12 hours", lambda: hub.handover(NOW - timedelta(hours=12))),
        ("handover: 7 days", lambda: hub.handover(NOW - timedelta(days=7))),
    ]
    print(f"\n{hub.backend()}: {hub.head_position():,} events, {len(hub.board()):,} open")
    for name, action in cases:
        ms, result = median_ms(action)
        size = len(result) if isinstance(result, list) else getattr(result, "changes", "")
        print(f"  {name:<40} {ms:8.1f} ms   {size}")
    hub.close()


if __name__ == "__main__":
    for url in sys.argv[1:] or ["sqlite:////tmp/d2a-bench/d2a_bench_locality_365d.db"]:
        bench(url)
