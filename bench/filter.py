"""How long the board's filter takes per keystroke on a region-sized board. Not a test.

    .venv/bin/python bench/filter.py [--db URL] [--runs 9]

Without --db it seeds a locality (30 days, seed 2026, clock frozen at 23 Nov 2026 09:30 UTC)
into a temporary folder, then copies its open cards eleven times over (~5,000 cards, a
region's board). Each filter is applied `--runs` times to the board model (what a keystroke in
`/` costs before the columns redraw); the median and the fastest run are printed, with the empty
filter (re-sorting every column, no matching) as the floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from d2a_tui.domain.flow import load_flow
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore
from d2a_tui.widgets.board_model import BoardModel

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
FILTERS = ("", "edna", "ward:7 red", "red ready>1d", "ward:7 amber pathway:P0 delay:MED new")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a seeded database (default: seed a locality now)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--copies", type=int, default=11, help="copies of each open card")
    args = parser.parse_args()
    url = args.db
    if url is None:
        from d2a_tui.seed import seed_database

        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'locality.db'}"
        seed_database(url, profile="locality", days=30, seed=2026, now=NOW, progress=False)
    hub = Hub(JourneyStore(make_engine(url), load_flow()), Actor("bench", "bench"), lambda: NOW)
    cards = [
        dataclasses.replace(card, journey_id=f"{copy:04d}{card.journey_id[4:]}")
        for copy in range(args.copies)
        for card in hub.board()
    ]
    model = BoardModel(hub.flow, hub.stuck, "bench", hub.calendar)
    model.load(cards, NOW)
    print(f"{len(cards)} open cards, {args.runs} runs each")
    print(f"{'filter':<42} {'median':>9} {'fastest':>9} {'shown':>6}")
    for text in FILTERS:
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            model.set_filter(text)
            runs.append(time.perf_counter() - started)
        label = repr(text) + ("  (floor)" if not text else "")
        print(
            f"{label:<42} {statistics.median(runs) * 1000:>7.1f}ms "
            f"{min(runs) * 1000:>7.1f}ms {model.shown_count():>6}"
        )


if __name__ == "__main__":
    main()
