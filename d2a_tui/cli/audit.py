"""`d2a audit`: who looked at whom and what they changed, from the access records and the
journeys' events, by journey, by user or by time. Run against the server's database it covers
every device (replicas send their access records like changes)."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from d2a_tui.domain.errors import InvalidInput


def _day_start(text: str, what: str, calendar: Any) -> datetime:
    from d2a_tui.domain.commands import parse_date

    day = parse_date(text, what)
    if day is None:
        raise InvalidInput(f"{what} needs a date like 2026-11-23")
    return calendar.start_of_day(day)


def cmd_audit(args: argparse.Namespace) -> int:
    from d2a_tui.cli.base import open_hub, print_json
    from d2a_tui.storage.audit import audit

    if not (args.journey or args.who or args.first or args.last):
        raise InvalidInput("say whose audit: --journey J, --user U, or --from D --to D")
    hub = open_hub(args)
    try:
        journey = hub.resolve(args.journey) if args.journey else None
        first = _day_start(args.first, "--from", hub.calendar) if args.first else None
        # --to is a day, counted whole: up to the start of the next one, in the hub's time.
        last = (
            _day_start(args.last, "--to", hub.calendar) + timedelta(days=1) if args.last else None
        )
        if first is not None and last is not None and last <= first:
            raise InvalidInput("--to is before --from")
        lines = audit(hub.store.engine, journey=journey, user=args.who, first=first, last=last)
    finally:
        hub.close()
    if args.json:
        print_json([line.to_dict() for line in lines])
        return 0
    if not lines:
        print("nothing recorded")
        return 0
    for line in lines:
        when = line.at.astimezone(hub.calendar.zone).strftime("%Y-%m-%d %H:%M")
        device = line.device[-12:]
        print(
            f"{when}  {line.user:<16} {device:<12} {(line.journey_id or '-')[:8]}  "
            f"{line.action}{': ' + line.detail if line.detail else ''}"
        )
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="who looked at whom and what they changed (by journey, user or dates)",
        description=(
            "Access records (journey screens opened, `d2a show`, exports, refused reads) and "
            "changes, oldest first. Names no patient: journeys by id."
        ),
    )
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file")
    parser.add_argument("--journey", metavar="J", help="one journey (id or prefix)")
    parser.add_argument("--user", dest="who", metavar="U", help="one user's looks and changes")
    parser.add_argument("--from", dest="first", metavar="D", help="from this day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last", metavar="D", help="to this day, inclusive")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=cmd_audit)
