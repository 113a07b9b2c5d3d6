"""`d2a web`: the board in a browser, for desktops with no terminal, through textual-serve.

Each browser tab gets its own `d2a board` process, driven over a websocket, on the same database
as the terminals. On this machine only (loopback, the default) it acts as the configured user
with no login, as a terminal would, for whoever opens the address it prints (it carries a key
made for this run). Beyond this machine it refuses to start without TLS
(`--certfile`/`--keyfile`) and asks each person to sign in with the central server's users and
device tokens (`d2a server add-user`, `d2a server enrol-device`); the board then acts as them.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.domain.errors import InvalidInput

if TYPE_CHECKING:
    from d2a_tui.web.server import WebOptions


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_options(args: argparse.Namespace) -> WebOptions:
    """What to serve, or InvalidInput saying why not (one line, before anything listens)."""
    from d2a_tui.config import Settings
    from d2a_tui.web.server import WebOptions

    settings = Settings.load(database_url=args.db, user=args.user)
    if not 0 < args.port < 65536:
        raise InvalidInput(f"--port {args.port} is not a port number (1-65535)")
    if bool(args.certfile) != bool(args.keyfile):
        raise InvalidInput("TLS needs both --certfile and --keyfile")
    local = is_loopback(args.host)
    if not local and not args.certfile:
        raise InvalidInput(
            f"serving beyond this machine ({args.host}) needs TLS: give --certfile and --keyfile"
        )
    context = None
    if args.certfile:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as error:
            raise InvalidInput(f"cannot use the TLS certificate and key: {error}") from None
    login = not local or args.login
    if login:
        _check_users_exist(settings.database_url)
    scheme = "https" if context else "http"
    if args.public_url:
        public_url = args.public_url.rstrip("/")
    else:
        name = args.host if local else socket.getfqdn()
        public_url = f"{scheme}://{name}:{args.port}"
    if args.max_boards < 1 or args.max_boards_per_user < 1:
        raise InvalidInput("--max-boards and --max-boards-per-user are at least 1")
    return WebOptions(
        settings.database_url,
        settings.user,
        args.host,
        args.port,
        public_url,
        context,
        login,
        max_boards=args.max_boards,
        max_boards_per_user=args.max_boards_per_user,
        loopback=local,
    )


def _check_users_exist(database_url: str) -> None:
    from sqlalchemy import func, select

    from d2a_tui.storage.db import ensure_schema, make_engine
    from d2a_tui.sync.ingest import device_table

    engine = make_engine(database_url)
    # As Hub.open: an empty shared database is refused, never given a schema here.
    ensure_schema(engine, create=engine.dialect.name != "postgresql")
    with engine.connect() as connection:
        devices = connection.execute(
            select(func.count())
            .select_from(device_table)
            .where(device_table.c.revoked_at.is_(None))
        ).scalar_one()
    engine.dispose()
    if not devices:
        raise InvalidInput(
            "nobody could sign in: add users and enrol a device for each "
            "(d2a server add-user, d2a server enrol-device)"
        )


def cmd_web(args: argparse.Namespace) -> int:
    from d2a_tui.services.hub import Hub
    from d2a_tui.web.server import BoardServer

    options = web_options(args)
    # Open the hub once here, so a database that is missing or unreachable is one line now,
    # not a blank page in every browser later.
    Hub.open(options.database_url, user=options.user).close()
    BoardServer(options).run()
    return 0


def register(sub: Any) -> None:
    web = sub.add_parser(
        "web",
        help="serve the board to a browser (loopback only unless TLS and sign-in are set up)",
        description="Serve the live board to web browsers through textual-serve. Beyond this "
        "machine it needs --certfile/--keyfile, and people sign in with the central server's "
        "user ids and device tokens.",
    )
    web.add_argument("--db", metavar="URL", help="the database the board shows")
    web.add_argument("--user", help="who acts when serving on loopback without sign-in")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--certfile", type=Path, help="TLS certificate (PEM), with --keyfile")
    web.add_argument("--keyfile", type=Path, help="TLS private key (PEM)")
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, e.g. https://hub.example:8000 (default: this host's name)",
    )
    web.add_argument(
        "--login", action="store_true", help="ask for sign-in on loopback too (always beyond it)"
    )
    web.add_argument(
        "--max-boards",
        type=int,
        default=20,
        metavar="N",
        help="board processes at once, in all (default 20)",
    )
    web.add_argument(
        "--max-boards-per-user",
        type=int,
        default=3,
        metavar="N",
        help="board processes at once for one person (default 3)",
    )
    web.set_defaults(handler=cmd_web)
