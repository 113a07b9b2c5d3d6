"""What the figures' own rules cost: a full refold of the log (what a `FOLD_VERSION` bump does on
first use) and a sitrep "as known at" a past moment beside the same sitrep as now known. Not a
test.

    .venv/bin/d2a seed --profile locality --days 365 --now 2026-11-23T09:30 --db /tmp/loc.db
    .venv/bin/python bench/figures.py /tmp/loc.db [postgresql://…/db] [--rebuilds 1]

Each "as known at" figure is the median of 5 runs after one warm-up; the floor printed beside it
is the same sitrep as now known (one range read of the summaries), in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from d2a_tui.services.hub import Hub

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # the seed's frozen "now" above
RUNS = 5


def _median(run: Callable[[], object], runs: int = RUNS) -> float:
    run()  # warm-up: connections, plan cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(url: str, rebuilds: int) -> None:
    hub = Hub.open(url, clock=lambda: NOW)
    reports = hub.reports
    if rebuilds:
        times = []
        for _ in range(rebuilds):
            started = time.perf_counter()
            events = reports.rebuild()
            times.append(time.perf_counter() - started)
        print(f"{url}: full refold of {events:,} events: {statistics.median(times):.1f} s "
              f"(median of {rebuilds})")  # fmt: skip

    def sitrep(known: str | None) -> Callable[[], object]:
        return lambda: reports.sitrep("2026-11-21", week=True, month=True, as_known_at=known)

    floor = _median(sitrep(None))
    print(f"{url}: sitrep 21 Nov --week --month as now known: {floor * 1000:.0f} ms (the floor)")
    for known in ("2026-11-22T09:00", "2026-11-16T09:00"):
        took = _median(sitrep(known))
        print(f"{url}: the same as known at {known}: {took * 1000:.0f} ms "
              f"(floor {floor * 1000:.0f} ms)")  # fmt: skip
    hub.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--rebuilds", type=int, default=1)
    args = parser.parse_args()
    for url in args.urls:
        bench(url, args.rebuilds)


if __name__ == "__main__":
    main()
