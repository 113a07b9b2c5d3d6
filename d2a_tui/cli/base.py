"""What every `d2a` sub-command shares: the --db and --user options, opening the hub, reading a
typed date and printing JSON.

Here rather than in the package's __init__ (main and the table of commands), so each area's
commands (`cli.journeys`, `cli.find`, …) use them without importing the module that imports them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.domain.display import json_shown

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(value: Any) -> None:
    document = json.dumps(value, default=_json_default, indent=2, ensure_ascii=False)
    sys.stdout.write(json_shown(document) + "\n")  # the same data, nothing a terminal acts on


def say(line: str) -> None:
    """One line for the person at the terminal, on stderr: stdout stays the command's output."""
    print(f"d2a: {line}", file=sys.stderr, flush=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for a server database or an in-memory one)."""
    from d2a_tui.storage.db import normalise_url

    url = normalise_url(url)
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def database_exists(url: str) -> bool:
    """Whether a database is there to open: a SQLite file with something in it, or any server
    database (the connection says if it is not there)."""
    path = sqlite_path(url)
    try:
        return path is None or (path.is_file() and path.stat().st_size > 0)
    except OSError:
        return True  # the engine says what is wrong with it


def choose_database(args: argparse.Namespace, *, creates: bool = False) -> str:
    """The database this command acts on, checked before anything opens it.

    A command that only reads or changes journeys never makes a database: a mistyped --db is
    one line, not an empty hub that says "0 open journeys". A command that creates one says so
    (`creates=True`; the caller prints `created_line` once it exists). When the database is not
    the one the board last opened, one line says which it is.
    """
    from d2a_tui.cli.checks import refuse_foreign_database
    from d2a_tui.config import Settings, data_dir, last_opened_database
    from d2a_tui.domain.errors import NotFound
    from d2a_tui.storage.db import normalise_url, safe_url

    settings = Settings.load(
        database_url=getattr(args, "db", None), user=getattr(args, "user", None)
    )
    url = normalise_url(settings.database_url)
    refuse_foreign_database(url)
    last = last_opened_database()
    if last and settings.database_from in ("environment", "config") and normalise_url(last) != url:
        source = (
            "D2A_DATABASE_URL" if settings.database_from == "environment" else "the config file"
        )
        say(f"using {safe_url(url)} (from {source}), not {safe_url(last)} that was opened last")
    elif settings.database_from in ("last opened", "default"):
        from d2a_tui.sync.login import load_login

        login = load_login()
        if login is not None and normalise_url(login.database_url) != url:
            # Logged in, yet (say) the demo opened since: work meant for the server stays here.
            say(
                f"using {safe_url(url)}, not this machine's replica "
                f"{safe_url(normalise_url(login.database_url))} (--db chooses)"
            )
    if database_exists(url):
        return url
    path = sqlite_path(url)
    assert path is not None
    if not creates:
        if settings.database_from == "default":
            raise NotFound(
                f"no d2a database here yet ({path}): `d2a demo` opens the demo hub, "
                "`d2a db upgrade` creates an empty one"
            )
        if settings.database_from == "last opened":
            raise NotFound(
                f"the database the board last opened is gone ({path}); nothing was created: "
                "give --db, or `d2a demo` for the demo hub"
            )
        raise NotFound(
            f"no d2a database at {path}; nothing was created (`d2a db upgrade --db {path}` "
            "creates an empty one)"
        )
    if not path.parent.is_dir():
        data = data_dir().absolute()
        if path.parent.absolute() != data:
            # Only the data folder is made unasked: any other folder is the user's to make.
            raise NotFound(f"no folder {path.parent}: create it first; nothing was created")
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
    return url


def created_line(url: str) -> str:
    from d2a_tui.storage.db import safe_url

    return f"created a new database {safe_url(url)} (readable by you only)"


def open_hub(args: argparse.Namespace, *, remember: bool = False) -> Hub:
    """The Hub on the chosen database (one that exists: see `choose_database`); `remember`:
    the board's database, the one a later command without --db means."""
    from d2a_tui.services.hub import Hub

    url = choose_database(args)
    hub = Hub.open(url, user=getattr(args, "user", None))
    if remember:
        from d2a_tui.config import remember_opened_database

        remember_opened_database(url)
    return hub


def passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="an encrypted database's passphrase, from this file (or D2A_PASSPHRASE)",
    )


def common_options(parser: argparse.ArgumentParser) -> None:
    passphrase_option(parser)
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL or SQLite file (default: D2A_DATABASE_URL or the local database)",
    )
    parser.add_argument("--user", help="act as this user (default: D2A_USER or your login name)")


def typed_day(hub: Hub, value: str | None, what: str) -> date | None:
    """A date typed on the command line, read as the TUI reads it (`today`, `yesterday`,
    `2026-11-24`, `24/11/2026`), on the hub's calendar."""
    if value is None:
        return None
    return hub.calendar.parse_date(value, what, now=hub.clock())


def database_options(
    parser: argparse.ArgumentParser, help_text: str = "database URL or SQLite file"
) -> None:
    """--db, saying which database this command means, and --passphrase-file."""
    parser.add_argument("--db", metavar="URL", help=help_text)
    passphrase_option(parser)
