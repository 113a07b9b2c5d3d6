"""How fast the board is: time to first full paint, key-to-repaint, peak memory. Not a test.

    .venv/bin/python bench/board.py                  # locality and region, 5 runs each
    .venv/bin/python bench/board.py --runs 9 --days 60 --dir /tmp/d2a-bench

Databases are seeded on first use into --dir (SQLite) with the fixed seed. A region year takes
minutes to seed; the board shows only open journeys, and 60 days of history already gives the
steady number of open cards (long P1/P2 stays included), so --days 60 is the default.
Each size runs in its own process so its peak memory is its own. Headless, via App.run_test().
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SIZE = (160, 50)


def ensure_database(directory: Path, profile: str, days: int) -> str:
    from d2a_tui.seed import seed_database

    path = directory / f"{profile}-{days}d.db"
    if not path.exists():
        print(f"seeding {profile} ({days} days) into {path}…", file=sys.stderr)
        summary = seed_database(f"sqlite:///{path}", profile=profile, days=days, seed=2026)
        print(f"  {summary}", file=sys.stderr)
    return f"sqlite:///{path}"


async def empty_app_seconds() -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("empty")

    started = time.perf_counter()
    async with Empty().run_test(size=SIZE) as pilot:
        await pilot.pause()
        return time.perf_counter() - started


DRAWN: set[str] = set()  # columns whose body has drawn a line since the current start


def watch_drawing() -> None:
    """Note each column's first drawn line. The line cache cannot tell: a layout pass that keeps
    a column's size clears it without anything being drawn again."""
    from d2a_tui.widgets.board_column import ColumnBody

    draw = ColumnBody.render_line

    def render_line(self: ColumnBody, y: int) -> Any:
        DRAWN.add(self.column.id)
        return draw(self, y)

    ColumnBody.render_line = render_line  # type: ignore[method-assign]


def painted(app: Any) -> bool:
    """Every column that has cards has drawn them."""
    board = app.screen_stack[0]
    if board.model is None or not board.loaded:
        return False
    return all(
        column.id in DRAWN or not board.model.order[column.id] for column in board.model.columns
    )


async def one_start(url: str, keys: bool) -> dict[str, Any]:
    from d2a_tui.app import D2AApp
    from d2a_tui.config import Settings
    from d2a_tui.services.hub import Hub

    DRAWN.clear()
    started = time.perf_counter()
    hub = Hub.open(url, user="bench")
    app = D2AApp(hub, Settings(database_url=url, user="bench"), poll_interval=3600)
    result: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        while not painted(app):
            await pilot.pause(0.005)
        result["start"] = time.perf_counter() - started
        board = app.screen_stack[0]
        result["cards"] = len(board.model.cards)
        if keys:
            result.update(await key_latencies(pilot, app))
    hub.close()
    return result


async def key_latencies(pilot: Any, app: Any, repeats: int = 15) -> dict[str, list[float]]:
    board = app.screen_stack[0]
    # A column where both one-key moves are allowed, so moves can go back and forth.
    column = next(i for i, c in enumerate(board.model.columns) if c.id == "await_p1")
    board.select(column, board.model.order["await_p1"][0])
    await pilot.pause()

    async def timed(key: str) -> float:
        started = time.perf_counter()
        await pilot.press(key)
        return time.perf_counter() - started

    floor, select, move = [], [], []
    for i in range(repeats):
        floor.append(await timed("f12"))  # bound to nothing: Pilot's own wait for idle
        select.append(await timed("down" if i % 2 == 0 else "up"))
        move.append(await timed("H" if i % 2 == 0 else "L"))  # a database write each time
    return {"floor": floor, "select": select, "move": move}


def run_one(url: str, runs: int) -> dict[str, Any]:
    watch_drawing()

    async def main() -> dict[str, Any]:
        await empty_app_seconds()  # imports and first-use costs out of the way
        empties = [await empty_app_seconds() for _ in range(runs)]
        starts, cards, keys = [], 0, {}
        for i in range(runs):
            outcome = await one_start(url, keys=i == runs - 1)
            starts.append(outcome["start"])
            cards = outcome["cards"]
            keys = {k: v for k, v in outcome.items() if k in ("floor", "select", "move")}
        return {"empty": empties, "start": starts, "cards": cards, **keys}

    result = asyncio.run(main())
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--dir", default="/tmp/d2a-bench")
    parser.add_argument("--locality", metavar="URL", help="use this database, not a seeded one")
    parser.add_argument("--region", metavar="URL", help="use this database, not a seeded one")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.runs)))
        return 0

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("D2A_DATA_DIR", str(directory / "data"))
    print(
        f"d2a board bench · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
        f"Textual {_textual_version()} · terminal {SIZE[0]}×{SIZE[1]} headless · median of {args.runs}"
    )
    given = {"locality": args.locality, "region": args.region}
    if not all(given.values()):
        print(
            f"databases: SQLite, seed 2026, {args.days} days of history "
            "(open journeys, the board's whole content, are at steady state after ~6 weeks)"
        )
    results = {}
    for profile in ("locality", "region"):
        url = given[profile] or ensure_database(directory, profile, args.days)
        print(f"{profile}: {url.split('://')[0]} {url.rsplit('/', 1)[-1]}")
        out = subprocess.run(
            [sys.executable, __file__, "--one", url, "--runs", str(args.runs)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        results[profile] = json.loads(out.stdout.strip().splitlines()[-1])
    for profile, r in results.items():
        floor = statistics.median(r["floor"])
        print(f"\n{profile}: {r['cards']:,} open cards")
        print(f"  empty Textual app ready      {ms(r['empty'])}")
        print(f"  board painted, all columns   {ms(r['start'])}   (target ≤ 1000 ms)")
        print(f"  no-op key (Pilot floor)      {ms(r['floor'])}")
        for name, label in (("select", "selection move"), ("move", "card move (db write)")):
            beyond = (statistics.median(r[name]) - floor) * 1000
            print(f"  {label:<28} {ms(r[name])}   {beyond:+6.1f} ms beyond the floor (target ≤ 50)")
        print(f"  peak memory (max RSS)        {r['peak_mb']:7.1f} MB   (target ≤ 250)")
    ratio = statistics.median(results["region"]["start"]) / statistics.median(
        results["locality"]["start"]
    )
    print(f"\nregion / locality time to paint: {ratio:.2f}× (target ≤ 2×)")
    return 0


def _textual_version() -> str:
    from importlib.metadata import version

    return version("textual")


if __name__ == "__main__":
    sys.exit(main())
