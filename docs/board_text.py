"""Prints the board as text: the real app, headless (`App.run_test()`), on a demo hub seeded with
a fixed seed and a frozen clock, so the README's picture is a real screen and can be made again:

    .venv/bin/python docs/board_text.py [--width 100] [--height 24] > board.txt
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # the tests' frozen "now"


async def board_text(database: Path, width: int, height: int) -> str:
    from d2a_tui.app import D2AApp
    from d2a_tui.config import Settings
    from d2a_tui.domain.flow import load_flow
    from d2a_tui.services.hub import Hub
    from d2a_tui.storage.db import make_engine
    from d2a_tui.storage.journeys import Actor, JourneyStore

    hub = Hub(
        JourneyStore(make_engine(f"sqlite:///{database}"), load_flow()),
        Actor("alice", "device-a"),
        lambda: NOW,
    )
    app = D2AApp(
        hub,
        Settings(database_url="", user="alice"),
        poll_interval=3600.0,
        tick_interval=3600.0,
        background_sync=False,
    )
    try:
        async with app.run_test(size=(width, height)) as pilot:
            await pilot.pause(1.5)  # the first read and paint
            console = Console(
                width=width, height=height, file=io.StringIO(), record=True, color_system=None
            )
            console.print(
                app.screen._compositor.render_update(
                    full=True, screen_stack=app._background_screens, simplify=True
                )
            )
            return "\n".join(line.rstrip() for line in console.export_text().splitlines())
    finally:
        hub.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--height", type=int, default=24)
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"  # times on the cards as the tests show them
    time.tzset()
    from d2a_tui.seed import seed_database

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "demo.db"
        seed_database(f"sqlite:///{database}", profile="locality", days=30, seed=2026, now=NOW)
        print(asyncio.run(board_text(database, args.width, args.height)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
