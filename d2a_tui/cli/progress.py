"""Progress on the terminal for the commands that take a while.

Seeding shows a bar (`rich.progress`) with the chunks of history written, journeys and events.
Any other command that is still running after SLOW_AFTER seconds shows a spinner with its name,
so a long report or a first fold over a big log never looks hung. Both go to stderr, only when
stderr is a terminal, and vanish when done: a script's output and a pipe stay clean.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SLOW_AFTER = 2.0
# Interactive or long-lived on purpose: a spinner would only get in the way.
NO_SPINNER = {"board", "demo", "serve", "seed", "login", "web", "sync"}

SeedProgress = Callable[[Any, int, int], None]


def _console(console: Console | None) -> Console:
    from d2a_tui.cli.streams import raw_stream

    # The terminal itself: a spinner draws with control sequences of its own, and its label is
    # the command's name, never a value.
    return console or Console(file=raw_stream(sys.stderr), stderr=True)


@contextmanager
def seed_progress(
    enabled: bool = True, console: Console | None = None, what: str = "Seeding"
) -> Iterator[SeedProgress | bool]:
    """A callback for `seed_database(progress=…)` that drives a bar; False when disabled."""
    console = _console(console)
    if not enabled or not console.is_terminal:
        yield False
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks · {task.fields[journeys]:,} journeys · {task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(what, total=None, journeys=0, events=0)

    def advance(summary: Any, done: int, total: int) -> None:
        progress.update(
            task, completed=done, total=total, journeys=summary.journeys, events=summary.events
        )

    with progress:
        yield advance


@contextmanager
def spinner_if_slow(
    label: str, console: Console | None = None, after: float = SLOW_AFTER
) -> Iterator[None]:
    """Shows a spinner labelled `label` if the block is still running after `after` seconds."""
    console = _console(console)
    if not console.is_terminal:
        yield
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True, redirect_stdout=False, redirect_stderr=False,
    )  # fmt: skip
    started = threading.Event()
    lock = threading.Lock()

    def start() -> None:
        with lock:
            if not started.is_set():
                started.set()
                progress.add_task(label, total=None)
                progress.start()

    timer = threading.Timer(after, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            if started.is_set():
                progress.stop()
            started.set()  # a timer that fires late does nothing


def command_label(args: Any) -> str | None:
    """What the spinner says for a command, or None for commands that get no spinner."""
    command = getattr(args, "command", None)
    if not command or command in NO_SPINNER or getattr(args, "watch", False):
        return None
    detail = getattr(args, "kind", None) or getattr(args, "server_command", None) or ""
    return f"d2a {command} {detail}".strip() + "…"


class _FirstSyncBars:
    """rich bars for a new replica's first snapshot: journeys received of all (with the bytes,
    the speed and an estimate of the time left), then journeys stored."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.started = time.monotonic()
        self.received = progress.add_task("Receiving", total=None, size="")
        self.stored = progress.add_task("Storing", total=None, visible=False, size="")

    def receiving(self, received: int, journeys: int, of_journeys: int | None) -> None:
        elapsed = max(time.monotonic() - self.started, 0.001)
        size = f"{filesize.decimal(received)} at {filesize.decimal(int(received / elapsed))}/s"
        self.progress.update(
            self.received, completed=journeys, total=of_journeys or None, size=size
        )

    def storing(self, stored: int, of_journeys: int) -> None:
        self.progress.update(self.received, completed=of_journeys, total=of_journeys or 1)
        self.progress.update(self.stored, completed=stored, total=of_journeys or 1, visible=True)


@contextmanager
def first_sync_progress(console: Console | None = None) -> Iterator[Any]:
    """Bars for `d2a login`'s first sync on a terminal (a region's snapshot takes a while);
    None elsewhere, where the command's lines say what happened."""
    console = _console(console)
    if not console.is_terminal:
        yield None
        return
    progress = Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("journeys"),
        TextColumn("{task.fields[size]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield _FirstSyncBars(progress)
