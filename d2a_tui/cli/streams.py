"""A command's output streams: everything a `d2a` command prints passes through
`terminal_text`, so no value (a name, an HL7 field, a server's message) can send a terminal
control sequence. Apart from `cli_base` so that the progress bars (which the sync package's
commands draw too) reach it without reaching the Hub."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from d2a_tui.domain.display import terminal_text


class ShownStream:
    """stdout or stderr for the length of a command: everything written goes through
    `terminal_text`, so no value printed by any command (a name, an HL7 field, a server's
    message) can send a terminal control sequence, whichever `print` wrote it. Rich consoles,
    which write their own colour codes, are given the stream underneath (`console`) and are
    handed literal `Text` only."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(terminal_text(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, …
        return getattr(self.inner, name)


@contextmanager
def shown_output() -> Iterator[None]:
    """A command's stdout and stderr as `ShownStream`s, put back afterwards (tests run many
    commands in one process)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ShownStream(out), ShownStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def raw_stream(stream: Any) -> Any:
    """The terminal stream under a `ShownStream`, for a Rich console."""
    return stream.inner if isinstance(stream, ShownStream) else stream


def console(*, stderr: bool = False, **options: Any) -> Any:
    """A Rich console for a command's output: on the real stream (its colours and live display
    are its own), so whatever it prints must be literal `Text` made with `shown`."""
    from rich.console import Console

    return Console(file=raw_stream(sys.stderr if stderr else sys.stdout), stderr=stderr, **options)
