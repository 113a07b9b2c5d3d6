"""Synthetic data and the database itself: `d2a seed`, `d2a db upgrade|current|encrypt`."""

from __future__ import annotations

import argparse
from typing import Any

from d2a_tui.cli.base import passphrase_option
from d2a_tui.domain.errors import D2AError


def cmd_seed(args: argparse.Namespace) -> int:
    from d2a_tui.cli.base import choose_database, created_line, database_exists, say
    from d2a_tui.seed import seed_database

    url = choose_database(args, creates=True)
    new = not database_exists(url)

    now = None
    if args.now is not None:
        from datetime import UTC, datetime

        from d2a_tui.domain.errors import InvalidInput

        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise InvalidInput(
                f"--now {args.now!r} is not a date-time: give it as 2026-11-23T09:30"
            ) from None
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    from d2a_tui.cli.progress import seed_progress

    with seed_progress(enabled=not args.quiet, what=f"Seeding a {args.profile}") as progress:
        summary = seed_database(
            url, profile=args.profile, days=args.days, seed=args.seed,
            progress=progress, now=now,
        )  # fmt: skip
    if new:
        say(created_line(url))
    print(summary)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from d2a_tui.cli.base import choose_database, created_line, database_exists, say
    from d2a_tui.storage.db import (
        SCHEMA_HEAD,
        current_revision,
        ensure_schema,
        make_engine,
        safe_url,
    )

    # Only `db upgrade` makes a database (an empty hub's first step); the others read one.
    url = choose_database(args, creates=args.action == "upgrade")
    if args.action == "encrypt":
        return _encrypt_database(url)
    new = not database_exists(url)
    engine = make_engine(url)
    if args.action == "upgrade":
        ensure_schema(engine)
        if new:
            say(created_line(url))
        print(f"{safe_url(str(engine.url))} is at schema {SCHEMA_HEAD}")
    else:
        print(current_revision(engine) or "empty")
    return 0


def _encrypt_database(url: str) -> int:
    from pathlib import Path

    from d2a_tui.storage import cipher
    from d2a_tui.storage.db import normalise_url

    url = normalise_url(url)
    if not url.startswith("sqlite:///"):
        raise D2AError("only a local SQLite database file can be encrypted")
    path = Path(url.removeprefix("sqlite:///"))
    if not path.is_file() or path.stat().st_size == 0:
        raise D2AError(f"{path} does not exist yet: `d2a login` makes a new replica encrypted")
    tables = cipher.encrypt_in_place(path, cipher.passphrase(path, confirm=True))
    print(f"{path} is encrypted ({tables} tables); its key file is {cipher.key_path(path)}")
    return 0


def add_seed_command(sub: Any) -> None:
    """`d2a seed`: a locality or region of synthetic, clearly fake data."""
    seed = sub.add_parser("seed", help="write synthetic, clearly fake, realistic data")
    seed.add_argument("--db", metavar="URL")
    seed.add_argument("--profile", choices=("locality", "region"), default="locality")
    seed.add_argument("--days", type=int, default=365)
    seed.add_argument("--seed", type=int, default=2026)
    seed.add_argument(
        "--now",
        metavar="DATETIME",
        help="seed as if it were this moment (UTC unless it says otherwise); with --seed, the "
        "same data every time (default: the current time)",
    )
    seed.add_argument("--quiet", action="store_true")
    seed.set_defaults(handler=cmd_seed)


def add_db_command(sub: Any) -> None:
    """`d2a db`: bring the schema up to date, say where it is, or encrypt a local file."""
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=("upgrade", "current", "encrypt"))
    db.add_argument("--db", metavar="URL")
    passphrase_option(db)
    db.set_defaults(handler=cmd_db)
