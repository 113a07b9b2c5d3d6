"""Start-up as a person feels it: `d2a board` in a real terminal, process start included. Not a test.

Each run starts the command in a tmux pane (120×40) and reads the pane with `capture-pane` until
the screen has been still for a while; "painted" is the moment of the last change before that
stillness, counted from the command's start. Then, in the same process: a selection key (Down/Up)
and a card move (Shift+H/L in Awaiting P1, a database write) until the screen changes, and the
process's peak RSS (GNU time). An empty Textual app, started the same way in the same run, is the
floor. Figures are medians of --runs.

    .venv/bin/python bench/startup.py                                  # seeded SQLite, 60 days
    .venv/bin/python bench/startup.py --runs 7 \\
        --case "sqlite region=sqlite:////tmp/d2a-bench/region-60d.db" \\
        --case "postgresql region=postgresql://postgres@127.0.0.1:5432/d2a_bench_region_60d"

Needs tmux (`apt-get install tmux`) and GNU time (/usr/bin/time).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

WIDTH, HEIGHT = 120, 40
POLL = 0.005  # seconds between captures; each capture is one tmux client call (~2 ms)
STILL = 0.4  # the screen unchanged this long counts as painted and still
TIMEOUT = 30.0
BOARD_READY = re.compile(r"\d[\d,]* open ·")  # the board's status line, written once cards are in

EMPTY_APP = """
from textual.app import App
from textual.widgets import Static

class Empty(App):
    def compose(self):
        yield Static("empty app ready")

Empty().run()
"""


@dataclass
class Figures:
    painted: list[float] = field(default_factory=list)
    select: list[float] = field(default_factory=list)
    move: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


class Pane:
    """One tmux server of our own (its own socket), one pane we respawn for every run."""

    def __init__(self) -> None:
        self.socket = f"d2a-startup-{os.getpid()}"
        self.tmux(
            "new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "bench", "sleep 1d"
        )
        self.tmux("set-option", "-t", "bench", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-e", "-p", "-t", "bench")  # -e: colours, so a moved
        # selection (a change of highlight only) counts as a change

    def start(self, command: str) -> float:
        self.tmux("clear-history", "-t", "bench")
        started = time.perf_counter()
        self.tmux("respawn-pane", "-k", "-t", "bench", command)
        return started

    def keys(self, *keys: str) -> float:
        started = time.perf_counter()
        self.tmux("send-keys", "-t", "bench", *keys)
        return started

    def dead(self) -> bool:
        return self.tmux("display-message", "-p", "-t", "bench", "#{pane_dead}").strip() == "1"

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)

    def settle(self, since: float, ready: Callable[[str], bool]) -> tuple[float, str]:
        """Wait until `ready(screen)` holds and the screen has been still for STILL seconds;
        return the seconds from `since` to the last change, and the screen."""
        last, changed_at = "", since
        while True:
            now = time.perf_counter()
            if now - since > TIMEOUT:
                raise TimeoutError(f"the screen never settled; last seen:\n{_text(last)}")
            current = self.screen()
            if current != last:
                last, changed_at = current, now
            elif ready(current) and now - changed_at >= STILL:
                return changed_at - since, current
            time.sleep(POLL)

    def until_changed(self, since: float, before: str) -> float:
        while time.perf_counter() - since < TIMEOUT:
            if self.screen() != before:
                return time.perf_counter() - since
            time.sleep(POLL)
        raise TimeoutError("the key changed nothing on screen")


def _text(screen: str) -> str:
    return re.sub(r"\x1b\[[0-9;:]*m", "", screen)


def one_run(
    pane: Pane, command: str, ready: Callable[[str], bool], keys: bool, out: Figures
) -> None:
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        started = pane.start(f"/usr/bin/time -f %M -o {rss.name} {command}")
        painted, screen = pane.settle(started, ready)
        out.painted.append(painted)
        if keys:
            for key in ("l", "l", "l"):  # to Awaiting P1, where both one-key moves are allowed
                _, screen = pane.settle(pane.keys(key), ready)
            for i in range(4):
                sent = pane.keys("Down" if i % 2 == 0 else "Up")
                out.select.append(pane.until_changed(sent, screen))
                _, screen = pane.settle(sent, ready)
                sent = pane.keys("H" if i % 2 == 0 else "L")
                out.move.append(pane.until_changed(sent, screen))
                _, screen = pane.settle(sent, lambda _screen: True)
                if not ready(screen):
                    # A choice opened instead (the card has an offer waiting): no write was
                    # made, so the sample is not a move; the card stays where it was.
                    out.move.pop()
                    _, screen = pane.settle(pane.keys("Escape"), ready)
                    _, screen = pane.settle(pane.keys("Down"), ready)  # on to another card
        pane.keys("C-q")  # quits the board and the empty app alike
        deadline = time.perf_counter() + TIMEOUT
        while not pane.dead() and time.perf_counter() < deadline:
            time.sleep(0.02)
        text = Path(rss.name).read_text().split()
        out.peak_mb.append(int(text[-1]) / 1024 if text else float("nan"))


def measure(
    pane: Pane, command: str, ready: Callable[[str], bool], runs: int, keys: bool
) -> Figures:
    figures = Figures()
    one_run(pane, command, ready, keys=False, out=Figures())  # warm the page cache, not counted
    for _ in range(runs):
        one_run(pane, command, ready, keys=keys, out=figures)
    return figures


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:6.0f} ms" if values else "      —"


def seeded(directory: Path, profile: str, days: int) -> str:
    path = directory / f"{profile}-{days}d.db"
    if not path.exists():
        from d2a_tui.seed import seed_database

        print(f"seeding {profile} ({days} days) into {path}…", file=sys.stderr)
        seed_database(f"sqlite:///{path}", profile=profile, days=days, seed=2026)
    return f"sqlite:///{path}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--dir", default="/tmp/d2a-bench")
    parser.add_argument(
        "--case",
        action="append",
        metavar="'NAME=URL'",
        help="a database to open (repeatable); default: SQLite locality and region, seeded",
    )
    args = parser.parse_args()
    if not shutil.which("tmux"):
        print("d2a: bench/startup.py needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    cases = [tuple(case.split("=", 1)) for case in args.case or ()] or [
        (f"sqlite {profile}", seeded(directory, profile, args.days))
        for profile in ("locality", "region")
    ]
    bin_dir = Path(sys.executable).parent
    data = tempfile.mkdtemp(prefix="d2a-startup-")
    # Bytecode cached as an installed package has it: the uncounted warm-up run writes it, where
    # PYTHONDONTWRITEBYTECODE (set in some shells and CI) would recompile d2a's sources every run.
    env = f"env -u PYTHONDONTWRITEBYTECODE D2A_DATA_DIR={data} TEXTUAL_ANIMATIONS=none"
    print(
        f"d2a start-up in tmux {WIDTH}×{HEIGHT} · {os.cpu_count()} CPUs {platform.machine()} · "
        f"Python {platform.python_version()} · median of {args.runs} · "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    pane = Pane()
    try:
        results = {
            "empty Textual app (floor)": measure(
                pane,
                f"{env} {sys.executable} -c '{EMPTY_APP}'",
                lambda screen: "empty app ready" in screen,
                args.runs,
                keys=False,
            )
        }
        for name, url in cases:
            command = f"{env} {bin_dir / 'd2a'} board --db {url} --user bench"
            results[name] = measure(
                pane, command, lambda s: bool(BOARD_READY.search(_text(s))), args.runs, keys=True
            )
    finally:
        pane.close()
        shutil.rmtree(data, ignore_errors=True)
    floor = statistics.median(results["empty Textual app (floor)"].painted)
    print(
        f"{'':<28} {'painted':>9} {'beyond floor':>13} {'select key':>10} {'card move':>10} {'peak RSS':>9}"
    )
    for name, figures in results.items():
        beyond = (statistics.median(figures.painted) - floor) * 1000
        print(
            f"{name:<28} {ms(figures.painted)} {beyond:+10.0f} ms {ms(figures.select)} "
            f"{ms(figures.move)} {statistics.median(figures.peak_mb):6.0f} MB"
        )
    print(
        f"load average {os.getloadavg()[0]:.1f} at the end; target: region painted ≤ floor + 400 ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
