"""The board's log file holds no patient identifier.

Textual's own log file (TEXTUAL_LOG) records every message the app handles, and an input's
`Changed` message carries what was typed: a name in the filter, an NHS number, a note's text.
So d2a turns that file off, and says so in it, rather than let a debugging aid collect patients'
details on a shared machine.
"""

from __future__ import annotations

from pathlib import Path

NOTICE = (
    "d2a: the Textual log file is off for the board: it would record what is typed, "
    "which includes patients' details\n"
)


def keep_typed_text_out_of_logs() -> None:
    import textual.constants

    path = textual.constants.LOG_FILE
    if not path:
        return
    textual.constants.LOG_FILE = None  # type: ignore[misc]
    try:
        with Path(path).open("a", encoding="utf-8") as log_file:
            log_file.write(NOTICE)
    except OSError:
        pass  # the file was only ever a debugging aid
