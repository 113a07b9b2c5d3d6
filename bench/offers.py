"""What the hand-offs cost: reading the board with each card's offer beside the same read
without it (the floor), the offers list, today's dashboard figures and a month's offers report.
Not a test.

    .venv/bin/python bench/offers.py                           # locality, 60 days, 7 runs
    .venv/bin/python bench/offers.py --profile region --days 30 --runs 5 --dir /tmp/d2a-bench

Databases are seeded on first use into --dir (SQLite) with the fixed seed; the seed makes a few
offers per locality and pathway (`d2a_tui/seed/offers.py`). Prints the median and the fastest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any


def timed(work: Callable[[], Any], runs: int) -> tuple[float, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="locality", choices=("locality", "region"))
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", default="/tmp/d2a-bench")
    args = parser.parse_args()

    from d2a_tui.domain.flow import load_flow
    from d2a_tui.reports.offers import offers_report
    from d2a_tui.seed import seed_database
    from d2a_tui.services.hub import Hub
    from d2a_tui.storage import journeys
    from d2a_tui.storage.db import make_engine
    from d2a_tui.storage.journeys import Actor, JourneyStore

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{args.profile}-{args.days}d-offers.db"
    if not path.exists():
        print(f"seeding {args.profile} ({args.days} days) into {path}…", file=sys.stderr)
        print(seed_database(f"sqlite:///{path}", profile=args.profile, days=args.days, seed=2026),
              file=sys.stderr)  # fmt: skip
    hub = Hub(JourneyStore(make_engine(f"sqlite:///{path}"), load_flow()), Actor("bench", "bench"))
    cards = hub.board()
    offered = sum(1 for card in cards if card.offer is not None)
    print(
        f"{args.profile}, {args.days} days: {len(cards):,} open cards, {offered} showing an offer"
    )

    with_offers = timed(hub.board, args.runs)
    real = journeys.shown_offers
    journeys.shown_offers = lambda connection, where, since=None: {}  # type: ignore[assignment]
    try:
        floor = timed(hub.board, args.runs)
    finally:
        journeys.shown_offers = real
    rows = [
        ("board read, with offers", with_offers),
        ("board read, no offers (floor)", floor),
        ("offers list", timed(hub.offers.list, args.runs)),
        ("today's offer figures", timed(hub.offers.today, args.runs)),
    ]
    today = hub.calendar.day(hub.clock())
    first = today - timedelta(days=29)
    report = timed(lambda: offers_report(hub.reports, first, today), args.runs)
    rows.append(("offers report, 30 days", report))
    for name, (median, fastest) in rows:
        print(f"  {name:<32} median {median * 1000:8.1f} ms   fastest {fastest * 1000:8.1f} ms")
    hub.close()


if __name__ == "__main__":
    main()
