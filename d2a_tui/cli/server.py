"""`d2a serve` (the central sync API) and `d2a server …` (its users, organisations, localities and
devices), on the server's own database: never this machine's replica."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import database_options
from d2a_tui.domain.errors import D2AError

if TYPE_CHECKING:
    from sqlalchemy import Engine

# As sync.rules.ROLES; spelt out so `d2a --help` need not import the sync package.
ROLE_CHOICES = ("coordinator", "night", "provider", "manager", "viewer")
# As domain.services.ORGANISATION_KINDS.
ORGANISATION_KIND_CHOICES = ("council", "trust", "community", "provider", "voluntary")


def _server_url(args: argparse.Namespace) -> str:
    """The server's database as named for `d2a serve` and `d2a server …` (never the local one),
    refused if it is this machine's replica."""
    from d2a_tui.cli.checks import refuse_foreign_database
    from d2a_tui.config import SERVER_DATABASE, server_database_url
    from d2a_tui.storage.db import normalise_url, safe_url
    from d2a_tui.sync.login import replica_login

    url = server_database_url(args.db)
    if url is None:
        raise D2AError(
            f"which server? name its database with --db URL, or once in {SERVER_DATABASE} "
            "(`d2a serve` reads it too); nothing was changed"
        )
    url = normalise_url(url)
    refuse_foreign_database(url)
    login = replica_login(url)
    if login is not None:
        raise D2AError(
            f"{safe_url(url)} is this machine's replica of {login.server_url}, not a server's "
            "database: administer the server's own database; nothing was changed"
        )
    return url


def _engine(args: argparse.Namespace) -> Engine:
    """The server's database for an administration command: one `d2a serve` has run on."""
    from d2a_tui.cli.base import database_exists
    from d2a_tui.storage.db import (
        SCHEMA_HEAD,
        SchemaMismatch,
        current_revision,
        make_engine,
        safe_url,
    )
    from d2a_tui.sync.admin import is_server_database

    url = _server_url(args)
    if not database_exists(url):
        raise D2AError(f"no database at {safe_url(url)}: `d2a serve --db` makes a server's")
    engine = make_engine(url)
    revision = current_revision(engine)
    if revision != SCHEMA_HEAD:
        raise SchemaMismatch(
            f"database schema is {revision or 'empty'!r}, expected {SCHEMA_HEAD!r}: "
            "run `d2a db upgrade --db URL` first"
        )
    if not is_server_database(engine):
        engine.dispose()
        raise D2AError(
            f"{safe_url(url)} is not a server's database (`d2a serve` has never run on it): "
            "name the server's database with --db or D2A_SERVER_DATABASE_URL; nothing was changed"
        )
    return engine


def cmd_serve(args: argparse.Namespace) -> int:
    from d2a_tui.config import Settings
    from d2a_tui.sync.server import serve

    if args.token_days < 1:
        raise D2AError("--token-days must be at least 1")
    if args.per_client < 1 or args.max_connections < args.per_client:
        raise D2AError("--per-client must be at least 1 and --max-connections at least that")
    if (args.certfile is None) != (args.keyfile is None):
        raise D2AError("HTTPS needs both --certfile and --keyfile")
    if args.certfile is not None:
        import ssl

        try:  # uvicorn would say this with a traceback
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                args.certfile, args.keyfile
            )
        except ssl.SSLError as error:  # before OSError, of which it is a kind
            raise D2AError(
                f"the certificate and key do not make a TLS identity ({error.reason})"
            ) from None
        except OSError as error:
            raise D2AError(f"cannot read the certificate or key: {error.strerror}") from None
    settings = Settings.load(database_url=args.db)
    url = _serve_database(args)
    serve(
        url,
        calendar=settings.calendar,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        certfile=args.certfile,
        keyfile=args.keyfile,
        token_days=args.token_days,
        max_connections=args.max_connections,
        per_client=args.per_client,
    )
    return 0


def _serve_database(args: argparse.Namespace) -> str:
    """The server's database, made a d2a database if it is a new file (and said so), and
    marked as a server's so that `d2a server …` may administer it."""
    from d2a_tui.cli.base import created_line, database_exists, say
    from d2a_tui.storage.db import SCHEMA_HEAD, current_revision, ensure_schema, make_engine
    from d2a_tui.sync.admin import mark_server

    url = _server_url(args)
    new = not database_exists(url)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if new:  # a new file; any other schema is upgraded only by `d2a db upgrade`
            ensure_schema(engine)
            say(created_line(url))
            revision = SCHEMA_HEAD
        if revision == SCHEMA_HEAD:
            mark_server(engine)  # (another schema: the server refuses it in one line)
    finally:
        engine.dispose()
    return url


def cmd_add_user(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import add_user

    user_id = add_user(_engine(args), args.name, args.role, args.org, args.id, args.locality)
    print(user_id)
    return 0


def cmd_set_user(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import find_user, set_user

    engine = _engine(args)
    details = set_user(
        engine,
        find_user(engine, args.user),
        role=args.role,
        organisation=args.org,
        localities=args.locality,
    )
    localities = ", ".join(details["localities"]) or "every locality"  # type: ignore[arg-type]
    print(
        f"{details['id']}: {details['role']}, organisation {details['organisation_id'] or '-'}, "
        f"serves {localities}"
    )
    return 0


def cmd_add_organisation(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import add_organisation

    print(add_organisation(_engine(args), args.id, args.name, args.kind))
    return 0


def cmd_add_locality(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import add_locality

    print(add_locality(_engine(args), args.name))
    return 0


def cmd_enrol(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import enrol_device, find_user

    engine = _engine(args)
    args.user = find_user(engine, args.user)
    device_id, token = enrol_device(engine, args.user, args.label)
    if args.json:
        from d2a_tui.cli.base import print_json

        print_json({"device_id": device_id, "enrolment_token": token})
        return 0
    print(token)
    print(
        f"device {device_id} for {args.user}: on the device run\n"
        f"  d2a login --server URL --token {token}\n"
        "The token works once and is not stored on the server; this is the only time it is shown.",
        file=sys.stderr,
    )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from d2a_tui.sync.admin import revoke_device

    revoke_device(_engine(args), args.device)
    print(f"device {args.device} revoked: its requests now get 401")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from d2a_tui.cli.base import print_json
    from d2a_tui.sync.admin import list_devices

    devices = list_devices(_engine(args))
    if args.json:
        print_json(devices)
        return 0
    now = datetime.now(UTC)

    def day(moment: Any) -> str:
        return moment.astimezone().strftime("%d %b %Y %H:%M") if moment else "-"

    print(f"{'device':<36}  {'user':<20} {'state':<15} {'last seen':<17} {'expires':<17} label")
    for device in devices:
        expires, revoked = device["token_expires_at"], device["revoked_at"]
        assert expires is None or isinstance(expires, datetime)
        if isinstance(revoked, datetime):
            state = f"revoked {revoked.astimezone():%d %b}"
        elif not device["enrolled_at"]:
            state = "awaiting login"
        elif expires is not None and expires <= now:
            state = "expired"
        else:
            state = "enrolled"
        print(
            f"{device['id']:<36}  {device['user_id']:<20} {state:<15} "
            f"{day(device['last_seen_at']):<17} {day(expires):<17} {device['label'] or ''}"
        )
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the central sync API (uvicorn)")
    database_options(serve, "the server's database (PostgreSQL in production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    serve.add_argument("--certfile", metavar="FILE", help="serve HTTPS: the certificate (PEM)")
    serve.add_argument("--keyfile", metavar="FILE", help="serve HTTPS: its private key (PEM)")
    serve.add_argument(
        "--token-days",
        type=int,
        default=90,
        metavar="N",
        help="device tokens expire after N days (devices swap them before then)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=1000,
        metavar="N",
        help="connections and requests at once, in all; beyond, 503 (default 1000)",
    )
    serve.add_argument(
        "--per-client",
        type=int,
        default=8,
        metavar="N",
        help="requests in progress at once for one device or address; beyond, 429 (default 8)",
    )
    serve.set_defaults(handler=cmd_serve)

    server = sub.add_parser("server", help="administer the central server: users and devices")
    server_sub = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    add_user = server_sub.add_parser("add-user", help="add a user (or change their role)")
    database_options(add_user)
    add_user.add_argument("--name", required=True)
    add_user.add_argument(
        "--org",
        help="the user's organisation, by id or name (`server add-organisation` adds one); "
        "a provider answers for its services",
    )
    add_user.add_argument("--role", required=True, choices=ROLE_CHOICES)
    add_user.add_argument("--id", help="user id (default: from the name, e.g. jo.bloggs)")
    add_user.add_argument(
        "--locality",
        action="append",
        metavar="L",
        help="a locality the user serves (repeat for more; none: every locality)",
    )
    add_user.set_defaults(handler=cmd_add_user)
    set_user = server_sub.add_parser(
        "set-user", help="change a user's role, organisation or localities"
    )
    database_options(set_user)
    set_user.add_argument("user", help="the user's id, or their name if unique")
    set_user.add_argument("--role", choices=ROLE_CHOICES)
    set_user.add_argument("--org", help="the user's organisation, by id or name")
    set_user.add_argument(
        "--locality",
        action="append",
        metavar="L",
        help="the localities the user serves, replacing the old ones (repeat for more)",
    )
    set_user.set_defaults(handler=cmd_set_user)
    add_organisation = server_sub.add_parser(
        "add-organisation",
        aliases=["add-org"],
        help="add a partner organisation (the council, a trust, a provider), so users and "
        "services can belong to it",
    )
    database_options(add_organisation)
    add_organisation.add_argument(
        "id", help="its short id, e.g. northcare (lower case; other characters become -)"
    )
    add_organisation.add_argument("--name", required=True, help='e.g. "Northcare Home Care Ltd"')
    add_organisation.add_argument("--kind", required=True, choices=ORGANISATION_KIND_CHOICES)
    add_organisation.set_defaults(handler=cmd_add_organisation)
    add_locality = server_sub.add_parser(
        "add-locality", help="name a locality the hub serves, so users can be given it"
    )
    database_options(add_locality)
    add_locality.add_argument("name")
    add_locality.set_defaults(handler=cmd_add_locality)
    enrol = server_sub.add_parser("enrol-device", help="enrol a device; prints a one-time token")
    database_options(enrol)
    enrol.add_argument("--user", required=True, help="the user's id, or their name if unique")
    enrol.add_argument("--label", help="e.g. night-laptop-2")
    enrol.add_argument("--json", action="store_true")
    enrol.set_defaults(handler=cmd_enrol)
    revoke = server_sub.add_parser("revoke-device", help="revoke a device: its requests get 401")
    database_options(revoke)
    revoke.add_argument("device")
    revoke.set_defaults(handler=cmd_revoke)
    devices = server_sub.add_parser("devices", help="list devices")
    database_options(devices)
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(handler=cmd_devices)
