"""What the `d2a` command checks before it acts, so that a mistake is one `d2a:` line.

Argument errors, unknown filter values, a file that is not a d2a database, and anything
unexpected all end as a single line on stderr and a non-zero exit: never a traceback, which could
print a patient's details from a local variable or an SQL statement.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from d2a_tui.domain.errors import InvalidInput

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

EXIT_USAGE = 2
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """The message on one line: control characters (a typed newline, a NUL) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split()) or "failed"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one `d2a:` line (exit 2) instead of usage plus message.
    Sub-parsers are made from the parent's class, so every command gets this behaviour."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("d2a").strip()
        prefix = f"{where}: " if where else ""
        sys.stderr.write(f"d2a: {prefix}{one_line(message)} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_USAGE)


def unexpected(error: BaseException, args: argparse.Namespace) -> str:
    """The line for an error nobody planned for. Its text is left out: database drivers put
    the statement's parameters (names, NHS numbers) into their messages."""
    from sqlalchemy.exc import DatabaseError

    if isinstance(error, DatabaseError):
        target = getattr(args, "db", None) or "the configured database"
        return f"{target} is not a d2a database, or cannot be read ({type(error).__name__})"
    return f"unexpected {type(error).__name__}; nothing more was changed"


def refuse_foreign_database(url: str | None) -> None:
    """Refuse a SQLite file that is not a d2a database before anything writes to it.

    Without this, a mistyped --db pointing at another program's database would be given d2a's
    tables by the schema upgrade, and a file that is not a database at all gives a driver error.
    """
    from d2a_tui.config import Settings
    from d2a_tui.storage.db import normalise_url

    url = normalise_url(url or Settings.load().database_url)
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return  # new: the schema upgrade makes it a d2a database
    except OSError:
        return  # the engine says what is wrong with it
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"{path} cannot be read: check its permissions")
    from d2a_tui.storage.cipher import is_encrypted

    if is_encrypted(path):
        return  # no header to read: opening it checks the passphrase and that it decrypts
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    except sqlite3.DatabaseError:
        raise InvalidInput(f"{path} is not a d2a database (not an SQLite file)") from None
    if tables and "alembic_version" not in tables:
        raise InvalidInput(
            f"{path} is not a d2a database (it holds other tables); give --db a d2a database "
            "or a new file"
        )


def check_version(hub: Hub, journey_id: str, expected: int) -> None:
    from d2a_tui.storage.journeys import VersionConflict

    card = hub.journey(journey_id).card
    if card.version != expected:
        raise VersionConflict(journey_id, expected, card.version, card.updated_by, card.updated_at)


def check_list_filters(hub: Hub, args: argparse.Namespace) -> None:
    """`d2a list` filters name things the hub knows: an unknown one is an error, not an empty list."""
    from d2a_tui.domain.delays import delay_reason
    from d2a_tui.domain.flow import PATHWAYS

    if args.pathway and args.pathway.strip().upper() not in PATHWAYS:
        raise InvalidInput(f"unknown pathway {args.pathway!r}; pathways: {', '.join(PATHWAYS)}")
    if args.column:
        args.column = hub.flow.resolve(args.column)  # its id or its name, as column: takes
    if args.delay:
        delay_reason(args.delay)
