"""A replica's commands: `d2a login`, `d2a logout`, `d2a sync`, `d2a conflicts`, `d2a resolve`
(the server's own are in `cli.server`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import database_options
from d2a_tui.domain.errors import D2AError

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub


def _replica_hub(args: argparse.Namespace) -> Hub:
    from d2a_tui.cli.base import choose_database
    from d2a_tui.services.hub import Hub

    hub = Hub.open(choose_database(args))  # (never a new, empty database)
    if hub.sync is None:
        hub.close()
        raise D2AError(
            "this database is not a replica of a server: run `d2a login --server URL --token T`"
        )
    return hub


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
            sync = hub.replica_sync()
            try:
                with first_sync_progress() as progress:
                    sync.synchroniser.snapshot_progress = progress
                    report = sync.sync_now(wait=True)
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
    sync = hub.replica_sync()
    try:
        if not args.status:
            _warn_plain_http(hub)
        if args.status:
            status = sync.sync_status()
            print_json(status.to_dict()) if args.json else print(_status_line(status))
            return 0
        if not args.watch:
            report = sync.sync_now(wait=True)
            status = sync.sync_status()
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
                report = sync.synchroniser.run_once(wait=25 if failures == 0 else 0)
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
    sync = hub.replica_sync()
    try:
        views = grouped(sync.conflicts(include_resolved=args.all))
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
    sync = hub.replica_sync()
    try:
        if not bulk:
            sync.resolve_conflict(words[0], words[1])
            print(f"resolved: kept {words[1]}; `d2a sync` sends the decision")
            return 0
        journey = hub.resolve(args.journey) if args.journey is not None else None
        decided = sync.keep_theirs_for(journey, args.kind)
        print(f"kept theirs for {decided} conflicts; `d2a sync` sends the decisions")
        return 0
    finally:
        hub.close()


def register(sub: Any) -> None:
    login = sub.add_parser("login", help="make this machine's database a replica of a server")
    database_options(login, "the local replica (default: the local database)")
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
    database_options(
        logout, "the replica to stop (default: the one this machine is logged in with)"
    )
    logout.add_argument("--force", action="store_true")
    logout.set_defaults(handler=cmd_logout)

    sync = sub.add_parser("sync", help="push pending changes and pull others' (headless)")
    database_options(sync)
    mode = sync.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one cycle, then exit (the default)")
    mode.add_argument("--watch", action="store_true", help="keep syncing until interrupted")
    mode.add_argument("--status", action="store_true", help="print the sync status only")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(handler=cmd_sync)

    conflicts = sub.add_parser("conflicts", help="changes of yours the server did not apply")
    database_options(conflicts)
    conflicts.add_argument("--json", action="store_true")
    conflicts.add_argument("--all", action="store_true", help="include resolved ones")
    conflicts.set_defaults(handler=cmd_conflicts)

    resolve = sub.add_parser("resolve", help="resolve a conflict: re-apply mine or keep theirs")
    database_options(resolve)
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
