"""`d2a serve`, `d2a server …`, `d2a login`, `d2a logout`, `d2a sync`, `d2a conflicts`, `d2a resolve`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.domain.errors import D2AError

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

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


def _engine(args: argparse.Namespace) -> Any:
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


def _replica_hub(args: argparse.Namespace) -> Any:
    from d2a_tui.cli.base import choose_database
    from d2a_tui.services.hub import Hub

    hub = Hub.open(choose_database(args))  # (never a new, empty database)
    if hub.sync is None:
        hub.close()
        raise D2AError(
            "this database is not a replica of a server: run `d2a login --server URL --token T`"
        )
    return hub


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


def cmd_login(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from d2a_tui.cli.checks import refuse_foreign_database
    from d2a_tui.config import Settings
    from d2a_tui.storage.db import ensure_schema, make_engine
    from d2a_tui.storage.journeys import event_table
    from d2a_tui.sync.admin import ENROL_PREFIX
    from d2a_tui.sync.client import SyncClient, SyncError, check_server_url, tls_context
    from d2a_tui.sync.login import Login, load_login, save_login, store_secrets
    from d2a_tui.sync.rebuild import outbox_table
    from d2a_tui.sync.replica import replica_table

    check_server_url(args.server, insecure_http=args.insecure_http)
    # Asked before the one-time enrolment token is spent.
    pin_hash = _pin_hash() if args.pin else None
    ca_file = str(Path(args.ca_file).absolute()) if args.ca_file else None
    if ca_file is not None:
        tls_context(ca_file)  # a CA file that cannot be read is said now, not at the first sync
    # The machine's own replica: never the demo hub the board opened last.
    settings = Settings.load(database_url=args.db, last_opened=False)
    url = settings.database_url
    refuse_foreign_database(url)
    if not url.startswith("sqlite") and "://" in url:
        raise D2AError("a replica is a local SQLite database: give --db a file, not a server URL")
    previous = load_login()
    new = _replica_folder(url)
    _encrypt_new_replica(url, args.unencrypted)
    engine = make_engine(url)
    ensure_schema(engine)
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(event_table)).scalar_one()
        cursor = connection.execute(select(replica_table.c.cursor)).scalar_one()
        queued = connection.execute(select(func.count()).select_from(outbox_table)).scalar_one()
        # Changes a logged-out device left unsent: the new device's numbering starts there.
        first_unsent = connection.execute(
            select(func.min(outbox_table.c.client_seq)).where(outbox_table.c.status == "pending")
        ).scalar_one()
    if events and not cursor and not queued and not args.force:
        raise D2AError(
            f"this database holds {events} events that are not on any server; a replica must "
            "start empty: give --db a new file (or --force to keep them only locally)"
        )
    if previous is not None and previous.server_url != args.server and queued and not args.force:
        raise D2AError(
            f"this machine is logged in to {previous.server_url}; sync and `d2a logout` first"
        )
    engine.dispose()
    _encrypt_plain_replica(url, args.unencrypted)
    tls = {"ca_file": ca_file, "insecure_http": args.insecure_http}
    client = SyncClient(args.server, retries=1, **tls)
    try:
        if args.token.startswith(ENROL_PREFIX):
            enrolled = client.enrol(args.token, args.label, first_unsent)
            token, device_id = enrolled.token, enrolled.device_id
            expires = enrolled.token_expires_at
            user_id, name, role = enrolled.user_id, enrolled.name, enrolled.role
        else:  # an existing device token, e.g. moving a device to a new replica file
            token = args.token
            client = SyncClient(args.server, token, retries=1, **tls)
            me = client.me()
            device_id, user_id, name, role = me.device_id, me.user_id, me.name, me.role
            expires = me.token_expires_at
    except SyncError as error:
        raise D2AError(f"login failed: {error}") from None
    finally:
        client.close()
    login = Login(
        args.server,
        token,
        device_id,
        user_id,
        name,
        role,
        url,
        token_expires_at=expires.isoformat() if expires else None,
        pin_hash=pin_hash,
        **tls,
    )
    from d2a_tui.cli.base import created_line, say
    from d2a_tui.config import remember_opened_database

    # The token and the PIN hash go inside the replica (encrypted with it: a plain file was
    # encrypted above, so the engine is made again); the file names the server and the user only.
    engine = make_engine(url)
    try:
        store_secrets(engine, login)
    finally:
        engine.dispose()
    path = save_login(login)
    remember_opened_database(url)  # the board and every command without --db use the replica
    if new:
        say(created_line(url))
    print(f"logged in to {args.server} as {name} ({role}), device {device_id}")
    print(f"this machine's database is now a replica; login kept in {path}", file=sys.stderr)
    if not args.no_sync:
        from d2a_tui.cli.progress import first_sync_progress

        args.db = url
        print(f"first sync from {args.server}…", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            hub = _replica_hub(args)
            try:
                with first_sync_progress() as progress:
                    hub.sync.synchroniser.snapshot_progress = progress
                    report = hub.sync.sync_now(wait=True)
                took = time.monotonic() - started
                print(f"first sync: {report.pulled} events in {took:.0f} s", file=sys.stderr)
            finally:
                hub.close()
        except SyncError as error:
            print(f"first sync failed ({error}); `d2a sync` later", file=sys.stderr)
    return 0


def _pin_hash() -> str:
    """A PIN for the idle lock: from D2A_PIN (scripts) or typed twice; kept as a hash."""
    import getpass
    import os

    from d2a_tui.storage.cipher import hash_pin

    pin = os.environ.get("D2A_PIN")
    if pin is None:
        if not sys.stdin.isatty():
            raise D2AError("--pin needs a terminal to type the PIN on (or D2A_PIN)")
        pin = getpass.getpass("PIN for the idle lock: ")
        if getpass.getpass("The same PIN again: ") != pin:
            raise D2AError("the two PINs differ; nothing was changed")
    if len(pin) < 4:
        raise D2AError("a PIN has at least 4 characters")
    return hash_pin(pin)


def _replica_folder(url: str) -> bool:
    """Make the data folder for the default replica on a machine where d2a never ran (a folder
    the user named must exist); whether the replica is a new file."""
    from d2a_tui.cli.base import database_exists, sqlite_path
    from d2a_tui.config import data_dir

    path = sqlite_path(url)
    if path is None or database_exists(url):
        return False
    if not path.parent.is_dir():
        if path.parent.absolute() != data_dir().absolute():
            raise D2AError(f"no folder {path.parent}: create it first; nothing was changed")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return True


def _encrypt_plain_replica(url: str, unencrypted: bool) -> None:
    """A plain database that is to become a replica (made by an earlier command or a failed
    try) is encrypted first, as `d2a db encrypt` does: patients never sync into a plain file on
    a laptop unless --unencrypted says so. Without a passphrase to hand, refused with the
    command that does it."""
    from d2a_tui.storage import cipher
    from d2a_tui.storage.db import normalise_url, remember_key

    path = Path(normalise_url(url).removeprefix("sqlite:///"))
    if unencrypted or cipher.is_encrypted(path) or not cipher.has_plain_header(path):
        return
    if not cipher.passphrase_given() and not sys.stdin.isatty():
        raise D2AError(
            f"{path} is not encrypted: run `d2a db encrypt --db {path}` first (or log in with "
            "--unencrypted for a demo); nothing was changed"
        )
    secret = cipher.passphrase(path, confirm=True)
    tables = cipher.encrypt_in_place(path, secret)
    remember_key(path, cipher.unlock(path, secret))
    print(f"d2a: {path} is now encrypted ({tables} tables)", file=sys.stderr)


def _encrypt_new_replica(url: str, unencrypted: bool) -> None:
    """A new replica is encrypted from its first byte (an existing plain one is encrypted
    once the login's checks pass: _encrypt_plain_replica)."""
    from d2a_tui.storage import cipher
    from d2a_tui.storage.db import normalise_url, remember_key

    path = Path(normalise_url(url).removeprefix("sqlite:///"))
    if cipher.is_encrypted(path):
        return  # opening it asks for its passphrase
    if path.is_file() and path.stat().st_size > 0:
        return
    if unencrypted:
        return
    secret = cipher.passphrase(path, confirm=True)
    remember_key(path, cipher.create_key(path, secret))


def cmd_logout(args: argparse.Namespace) -> int:
    from d2a_tui.sync.login import forget_login, load_login

    login = load_login()
    if login is None:
        print("not logged in")
        return 0
    if args.db is not None:
        from d2a_tui.storage.db import normalise_url

        if normalise_url(args.db) != normalise_url(login.database_url):
            raise D2AError(
                f"{args.db} is not this machine's replica (that is {login.database_url}); "
                "nothing was changed"
            )
    from d2a_tui.services.hub import Hub

    hub = Hub.open(login.database_url)
    try:
        if hub.sync is not None:
            status = hub.sync.sync_status()
            if status.pending and not args.force:
                raise D2AError(
                    f"{status.pending} changes are not on the server yet: `d2a sync` first "
                    "(or --force to keep them only in the local database)"
                )
            hub.sync.forget_secrets()
    finally:
        hub.close()
    forget_login()
    print(f"logged out of {login.server_url}")
    return 0


def _status_line(status: Any) -> str:
    last = (
        status.last_success.astimezone().strftime("%d %b %H:%M") if status.last_success else "never"
    )
    line = (
        f"{status.state}: {status.pending} pending, {status.conflicts} conflicts, last sync {last}"
    )
    line += f" ({status.message})" if status.message else ""
    line += f"; recovered {status.recovered}" if status.recovered else ""
    return line + (f"; {status.clock}" if status.clock else "")


def _warn_plain_http(hub: Hub) -> None:
    from d2a_tui.sync.client import plain_http_warning

    warning = plain_http_warning(hub.replica_sync().login.server_url)
    if warning is not None:
        print(f"d2a: warning: {warning}", file=sys.stderr, flush=True)


def cmd_sync(args: argparse.Namespace) -> int:
    from d2a_tui.cli.base import print_json
    from d2a_tui.sync.client import SyncError, SyncRefused

    hub = _replica_hub(args)
    try:
        if not args.status:
            _warn_plain_http(hub)
        if args.status:
            status = hub.sync.sync_status()
            print_json(status.to_dict()) if args.json else print(_status_line(status))
            return 0
        if not args.watch:
            report = hub.sync.sync_now(wait=True)
            status = hub.sync.sync_status()
            if args.json:
                print_json(
                    {
                        "pushed": report.pushed,
                        "pulled": report.pulled,
                        "outcomes": report.outcomes,
                        "recovered": report.recovered,
                        "status": status.to_dict(),
                    }
                )
            else:
                outcomes = ", ".join(f"{v} {k}" for k, v in sorted(report.outcomes.items()))
                print(
                    f"pushed {report.pushed}{f' ({outcomes})' if outcomes else ''}, "
                    f"pulled {report.pulled}; {_status_line(status)}"
                )
            return 0
        failures = 0
        while True:  # --watch: until interrupted
            try:
                report = hub.sync.synchroniser.run_once(wait=25 if failures == 0 else 0)
                if report.pushed or report.pulled:
                    _warn_plain_http(hub)
                    print(
                        f"{time.strftime('%H:%M:%S')} pushed {report.pushed}, pulled {report.pulled}",
                        flush=True,
                    )
                failures = 0
            except SyncRefused:
                raise
            except SyncError as error:
                failures += 1
                delay = min(60.0, 2.0 * 2 ** min(failures, 5))
                print(
                    f"{time.strftime('%H:%M:%S')} {error}; retrying in {delay:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(delay)
    finally:
        hub.close()


def cmd_conflicts(args: argparse.Namespace) -> int:
    from collections import Counter

    from d2a_tui.cli.base import print_json
    from d2a_tui.sync.replica_hub import describe, grouped

    hub = _replica_hub(args)
    try:
        views = grouped(hub.sync.conflicts(include_resolved=args.all))
        if args.json:
            print_json([{**view.to_dict(), "summary": describe(view, hub.flow)} for view in views])
            return 0
        if not views:
            print("no unresolved conflicts")
            return 0
        open_views = [view for view in views if view.resolved_at is None]
        kinds = Counter(f"{view.command} {view.outcome}" for view in open_views)
        journeys = {view.journey_id for view in open_views}
        summary = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        print(f"{len(open_views)} to decide on {len(journeys)} journeys: {summary or 'none'}")
        current: str | None = None
        for view in views:
            journey = (view.journey_id or "")[:8] or "(no journey)"
            if journey != current:
                current = journey
                print(f"journey {journey}")
            state = f" [{view.resolution}]" if view.resolution else ""
            print(f"  {view.mutation_id}  {describe(view, hub.flow)}{state}")
        print(
            "resolve with: d2a resolve <id> mine|theirs, or in bulk: d2a resolve theirs "
            "--all | --journey J | --kind move|add_note|...|conflict|rejected",
            file=sys.stderr,
        )
        return 0
    finally:
        hub.close()


def cmd_resolve(args: argparse.Namespace) -> int:
    from d2a_tui.domain.errors import InvalidInput

    bulk = args.all or args.journey is not None or args.kind is not None
    words = list(args.words)
    if bulk:
        if words != ["theirs"]:
            raise InvalidInput(
                "in bulk only theirs is kept: `d2a resolve theirs --all` (or --journey J, "
                "--kind K); re-apply yours one at a time"
            )
    elif len(words) != 2 or words[1] not in ("mine", "theirs"):
        raise InvalidInput("say which: `d2a resolve CONFLICT mine|theirs`")
    hub = _replica_hub(args)
    try:
        if not bulk:
            hub.sync.resolve_conflict(words[0], words[1])
            print(f"resolved: kept {words[1]}; `d2a sync` sends the decision")
            return 0
        journey = hub.resolve(args.journey) if args.journey is not None else None
        decided = hub.sync.keep_theirs_for(journey, args.kind)
        print(f"kept theirs for {decided} conflicts; `d2a sync` sends the decisions")
        return 0
    finally:
        hub.close()


def register(sub: Any) -> None:
    from d2a_tui.cli.base import passphrase_option

    def with_db(
        parser: argparse.ArgumentParser, help_text: str = "database URL or SQLite file"
    ) -> None:
        parser.add_argument("--db", metavar="URL", help=help_text)
        passphrase_option(parser)

    serve = sub.add_parser("serve", help="run the central sync API (uvicorn)")
    with_db(serve, "the server's database (PostgreSQL in production)")
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
    with_db(add_user)
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
    with_db(set_user)
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
    with_db(add_organisation)
    add_organisation.add_argument(
        "id", help="its short id, e.g. northcare (lower case; other characters become -)"
    )
    add_organisation.add_argument("--name", required=True, help='e.g. "Northcare Home Care Ltd"')
    add_organisation.add_argument("--kind", required=True, choices=ORGANISATION_KIND_CHOICES)
    add_organisation.set_defaults(handler=cmd_add_organisation)
    add_locality = server_sub.add_parser(
        "add-locality", help="name a locality the hub serves, so users can be given it"
    )
    with_db(add_locality)
    add_locality.add_argument("name")
    add_locality.set_defaults(handler=cmd_add_locality)
    enrol = server_sub.add_parser("enrol-device", help="enrol a device; prints a one-time token")
    with_db(enrol)
    enrol.add_argument("--user", required=True, help="the user's id, or their name if unique")
    enrol.add_argument("--label", help="e.g. night-laptop-2")
    enrol.add_argument("--json", action="store_true")
    enrol.set_defaults(handler=cmd_enrol)
    revoke = server_sub.add_parser("revoke-device", help="revoke a device: its requests get 401")
    with_db(revoke)
    revoke.add_argument("device")
    revoke.set_defaults(handler=cmd_revoke)
    devices = server_sub.add_parser("devices", help="list devices")
    with_db(devices)
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(handler=cmd_devices)

    login = sub.add_parser("login", help="make this machine's database a replica of a server")
    with_db(login, "the local replica (default: the local database)")
    login.add_argument("--server", required=True, metavar="URL")
    login.add_argument("--token", required=True, help="the enrolment token from enrol-device")
    login.add_argument("--label", help="name this device on the server")
    login.add_argument("--force", action="store_true")
    login.add_argument("--no-sync", action="store_true", help="do not sync right away")
    login.add_argument(
        "--pin", action="store_true", help="set a PIN that unlocks the idle lock (asked for)"
    )
    login.add_argument(
        "--unencrypted",
        action="store_true",
        help="keep a new replica in a plain SQLite file (a demo or a test, not patients)",
    )
    login.add_argument(
        "--ca-file", metavar="FILE", help="trust the server's certificate from this CA (PEM)"
    )
    login.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain http:// to another machine (warned about on every sync)",
    )
    login.set_defaults(handler=cmd_login)

    logout = sub.add_parser(
        "logout", help="stop being a replica (refused while changes are pending)"
    )
    with_db(logout, "the replica to stop (default: the one this machine is logged in with)")
    logout.add_argument("--force", action="store_true")
    logout.set_defaults(handler=cmd_logout)

    sync = sub.add_parser("sync", help="push pending changes and pull others' (headless)")
    with_db(sync)
    mode = sync.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one cycle, then exit (the default)")
    mode.add_argument("--watch", action="store_true", help="keep syncing until interrupted")
    mode.add_argument("--status", action="store_true", help="print the sync status only")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(handler=cmd_sync)

    conflicts = sub.add_parser("conflicts", help="changes of yours the server did not apply")
    with_db(conflicts)
    conflicts.add_argument("--json", action="store_true")
    conflicts.add_argument("--all", action="store_true", help="include resolved ones")
    conflicts.set_defaults(handler=cmd_conflicts)

    resolve = sub.add_parser("resolve", help="resolve a conflict: re-apply mine or keep theirs")
    with_db(resolve)
    resolve.add_argument(
        "words",
        nargs="+",
        metavar="[CONFLICT] mine|theirs",
        help="conflict id (or a prefix) from `d2a conflicts` and mine|theirs; theirs alone "
        "with --all, --journey or --kind",
    )
    bulk = resolve.add_argument_group("in bulk (keep theirs)")
    bulk.add_argument("--all", action="store_true", help="every undecided conflict")
    bulk.add_argument("--journey", metavar="J", help="every one of this journey")
    bulk.add_argument(
        "--kind",
        metavar="K",
        help="every one of this kind: a command (move, add_note, set_delay, ...) or an "
        "outcome (conflict, rejected)",
    )
    resolve.set_defaults(handler=cmd_resolve)
