"""`d2a adt listen|load|exceptions|resolve|refer`: the hospital's ADT feed and what it holds."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from d2a_tui.cli import open_hub, print_json
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.interop.hl7v2 import split_messages

__all__ = ["add_adt_commands", "split_messages"]


def add_adt_commands(sub: Any) -> None:
    adt = sub.add_parser("adt", help="the hospital's ADT feed (HL7 v2 over MLLP)")
    actions = adt.add_subparsers(dest="adt_action", metavar="ACTION", required=True)

    listen = actions.add_parser("listen", help="accept ADT messages over MLLP and acknowledge each")
    listen.add_argument("--port", type=int, default=2575)
    listen.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    listen.add_argument("--db", metavar="URL")
    listen.set_defaults(handler=cmd_listen)

    load = actions.add_parser("load", help="apply a file of ADT messages (a replay), as if sent")
    load.add_argument("file", type=Path)
    load.add_argument("--db", metavar="URL")
    load.add_argument("--quiet", action="store_true", help="only the summary")
    load.set_defaults(handler=cmd_load)

    queue = actions.add_parser("exceptions", help="what the feed holds for a person, oldest first")
    queue.add_argument("--all", action="store_true", help="resolved ones too")
    queue.add_argument("--json", action="store_true")
    queue.add_argument("--db", metavar="URL")
    queue.set_defaults(handler=cmd_exceptions)

    resolve = actions.add_parser("resolve", help="mark an exception dealt with")
    resolve.add_argument("id", help="exception id, or its first or last characters")
    resolve.add_argument("--note", required=True, help="what was done")
    resolve.add_argument("--db", metavar="URL")
    resolve.add_argument("--user")
    resolve.set_defaults(handler=cmd_resolve)

    refer = actions.add_parser(
        "refer", help="refer someone the feed admitted (an 'admitted' entry)"
    )
    refer.add_argument("id", help="exception id, or its first or last characters")
    refer.add_argument("--pathway", help="proposed pathway: P0, P1, P2 or P3")
    refer.add_argument("--db", metavar="URL")
    refer.add_argument("--user")
    refer.set_defaults(handler=cmd_refer_admitted)


def _feed(hub: Any) -> Any:
    from d2a_tui.interop.adt import AdtFeed

    if hub.sync is not None:
        # A merge or a new name changes the patient row, which only the shared database holds.
        raise InvalidInput(
            "the ADT feed writes to the shared database: run it with --db on the server's database, "
            "not on a thin client"
        )

    return AdtFeed(hub.store, hub.calendar, hub.actor.device_id, hub.clock)


def cmd_listen(args: argparse.Namespace) -> int:
    from d2a_tui.interop.mllp import MllpListener, summary

    hub = open_hub(args)
    listener = MllpListener(
        _feed(hub),
        on_outcome=lambda outcome, text: print(
            f"{outcome.code} {'(duplicate) ' if outcome.duplicate else ''}{summary(text)}",
            flush=True,
        ),
    )

    async def serve() -> None:
        port = await listener.start(args.host, args.port)
        print(f"listening for ADT over MLLP on {args.host}:{port} ({hub.backend()})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await listener.close()

    try:
        asyncio.run(serve())
    except OSError as error:
        raise InvalidInput(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from d2a_tui.interop.adt import processing_summary

    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read {args.file}: {error.strerror}") from None
    except ValueError:  # a NUL in the name: no file can be called that
        raise InvalidInput(f"cannot read {str(args.file)!r}: not a file name") from None
    from d2a_tui.interop.mllp import decode, summary

    messages = split_messages(decode(data))
    if not messages:
        raise InvalidInput(f"{args.file} holds no HL7 messages")
    feed = _feed(open_hub(args))
    outcomes = []
    for number, text in enumerate(messages, start=1):
        outcome = feed.process(text)
        outcomes.append(outcome)
        if not args.quiet and (outcome.code != "AA" or outcome.duplicate):
            print(f"message {number} ({summary(text)}): {outcome.code} {outcome.detail}")
    counts = processing_summary(outcomes)
    print(
        f"{len(messages)} message(s): "
        + ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
    )
    return 0


def cmd_exceptions(args: argparse.Namespace) -> int:
    from d2a_tui.interop.queue import exception_rows

    hub = open_hub(args)
    rows = exception_rows(hub.store.engine, include_resolved=args.all)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no ADT exceptions waiting")
        return 0
    for row in rows:
        nhs = row["nhs_number"] or "??????????"
        done = f"  resolved: {row['resolution']}" if row["resolved_at"] else ""
        print(
            f"{row['id'][-12:]}  {row['kind']:<10} {row['created_at']:%d %b %H:%M}  "
            f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}  {row['name'] or '-'}  {row['reason']}{done}"
        )
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from d2a_tui.interop.desk import AdtDesk

    desk = AdtDesk(open_hub(args))
    row = desk.find(args.id)
    desk.resolve(row.id, args.note)
    print(f"resolved {row.id[-12:]}")
    return 0


def cmd_refer_admitted(args: argparse.Namespace) -> int:
    from d2a_tui.interop.desk import AdtDesk

    print(AdtDesk(open_hub(args)).refer(args.id, args.pathway))
    return 0
