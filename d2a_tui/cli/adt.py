"""`d2a adt listen|load|exceptions|resolve|refer`: the hospital's ADT feed and what it holds."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import open_hub, print_json
from d2a_tui.domain.errors import InvalidInput

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub

__all__ = ["add_adt_commands"]


def add_adt_commands(sub: Any) -> None:
    adt = sub.add_parser("adt", help="the hospital's ADT feed (HL7 v2 over MLLP)")
    actions = adt.add_subparsers(dest="adt_action", metavar="ACTION", required=True)

    listen = actions.add_parser("listen", help="accept ADT messages over MLLP and acknowledge each")
    listen.add_argument("--port", type=int, default=2575)
    listen.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    listen.add_argument("--db", metavar="URL")
    listen.add_argument(
        "--max-connections", type=int, default=32, metavar="N",
        help="connections open at once; more are closed at once (default 32)",
    )  # fmt: skip
    listen.set_defaults(handler=cmd_listen)

    load = actions.add_parser("load", help="apply a file of ADT messages (a replay), as if sent")
    load.add_argument("file", type=Path)
    load.add_argument("--db", metavar="URL")
    load.add_argument("--quiet", action="store_true", help="only the summary")
    load.set_defaults(handler=cmd_load)

    admissions = actions.add_parser(
        "admissions", help="inpatient admissions of people not referred yet, newest first"
    )
    admissions.add_argument("--ward", help="only this ward (any case)")
    admissions.add_argument("--since", help="admitted on or after this day (today, 2026-11-24, …)")
    admissions.add_argument("--all", action="store_true", help="referred or gone ones too")
    admissions.add_argument("--json", action="store_true")
    admissions.add_argument("--db", metavar="URL")
    admissions.set_defaults(handler=cmd_admissions)

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


def _feed(hub: Hub) -> Any:
    from d2a_tui.interop.adt import AdtFeed

    if hub.sync is not None:
        # A merge or a new name changes the patient row, which only the shared database holds.
        raise InvalidInput(
            "the ADT feed writes to the shared database: run it with --db on the server's database, "
            "not on a thin client"
        )

    return AdtFeed(hub.store, hub.calendar, hub.actor.device_id, hub.clock, sender_profiles())


_LOCATION = re.compile(r"PV1-3\.([1-9])$")


def sender_profiles() -> dict[str, Any]:
    """Per sender (MSH-4, or `*` for any), from the config file:

    [adt.senders.RCB]
    ward = "PV1-3.2"      # the component of PV1-3 holding the ward (default PV1-3.1)
    bed = "PV1-3.3"
    died = ["4", "5"]     # PV1-36 dispositions that mean the person died
    """
    from d2a_tui.config import _read_config_file, config_path
    from d2a_tui.interop.adt_triggers import SenderProfile

    senders = _read_config_file(config_path()).get("adt", {}).get("senders", {})
    if not isinstance(senders, dict):
        raise InvalidInput("[adt.senders] in the config file must be tables, one per sender")
    profiles = {}
    for sender, values in senders.items():
        fields: dict[str, Any] = {}
        for key in ("ward", "bed"):
            if key in values:
                found = _LOCATION.match(str(values[key]).strip())
                if found is None:
                    raise InvalidInput(
                        f"[adt.senders.{sender}] {key} must be PV1-3.1 to PV1-3.9, "
                        f"got {values[key]!r}"
                    )
                fields[key] = int(found.group(1))
        if "died" in values:
            fields["died"] = frozenset(str(code) for code in values["died"])
        profiles[str(sender)] = SenderProfile(**fields)
    return profiles


def cmd_listen(args: argparse.Namespace) -> int:
    from d2a_tui.interop.mllp import MllpListener, summary

    hub = open_hub(args)
    listener = MllpListener(
        _feed(hub),
        max_connections=max(1, args.max_connections),
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
    # python-hl7 is imported by the command that reads HL7, not by every `d2a` start.
    from d2a_tui.interop.hl7v2 import split_messages
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
    from d2a_tui.interop.desk import AdtDesk

    rows = AdtDesk(open_hub(args)).exceptions(include_resolved=args.all)
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


def cmd_admissions(args: argparse.Namespace) -> int:
    from d2a_tui.interop.desk import AdtDesk

    hub = open_hub(args)
    since = None
    if args.since:
        since = hub.calendar.start_of_day(
            hub.calendar.parse_date(args.since, "--since", now=hub.now())
        )
    rows = AdtDesk(hub).admissions(ward=args.ward, since=since, include_done=args.all)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no admissions waiting for a referral")
        return 0
    for row in rows:
        nhs = row["nhs_number"] or "??????????"
        admitted = hub.calendar.day(row["admitted_at"]) if row["admitted_at"] else None
        done = f"  ({row['resolution']})" if row["resolved_at"] else ""
        print(
            f"{row['id'][-12:]}  {admitted:%d %b} " if admitted else f"{row['id'][-12:]}  ?      ",
            end="",
        )
        print(
            f"{row['ward'] or '-':<12} {nhs[:3]} {nhs[3:6]} {nhs[6:]}  {row['name'] or '-'}{done}"
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
