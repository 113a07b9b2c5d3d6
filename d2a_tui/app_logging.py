"""The board's log file and its crash report hold no patient identifier.

Textual's own log file (TEXTUAL_LOG) records every message the app handles, and an input's
`Changed` message carries what was typed: a name in the filter, an NHS number, a note's text.
So d2a turns that file off, and says so in it, rather than let a debugging aid collect patients'
details on a shared machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

NOTICE = (
    "d2a: the Textual log file is off for the board: it would record what is typed, "
    "which includes patients' details\n"
)


def keep_typed_text_out_of_logs() -> None:
    import textual.constants

    path = textual.constants.LOG_FILE
    if not path:
        return
    textual.constants.LOG_FILE = None  # type: ignore[misc]  # Textual calls it Final; taken over here, once, before the app starts
    try:
        with Path(path).open("a", encoding="utf-8") as log_file:
            log_file.write(NOTICE)
    except OSError:
        pass  # the file was only ever a debugging aid


WITHHELD = "(details withheld: an error's text can quote a patient's details)"


def withheld_traceback(error: BaseException) -> Any:
    """Where the board failed (files, lines, the exception's type) without the exception's text,
    its notes or any frame's locals: Textual's own crash report shows locals, which hold cards."""
    from rich.traceback import Traceback

    trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
    for stack in trace.stacks:
        stack.exc_value = WITHHELD
        stack.notes = []
        stack.syntax_error = None
    return Traceback(trace, width=None, show_locals=False)


def report_crashes_without_details(app: Any) -> None:
    """Replace the app's crash report (Textual 8's `_fatal_error`) with `withheld_traceback`."""
    from rich.segment import Segments

    def fatal_error() -> None:
        error = sys.exc_info()[1] or app._exception
        app.bell()
        if error is not None:
            rendered = app.console.render(withheld_traceback(error), app.console.options)
            app._exit_renderables.append(Segments(rendered))
        app._close_messages_no_wait()

    app._fatal_error = fatal_error
