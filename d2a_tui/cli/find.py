"""`d2a find` and `d2a handover`: anyone the hub has had, and what changed since a time.

Registered through `cli.COMMANDS`. Both print plain text that fits 80 columns, or `--json`
(keys only ever added); `--output FILE` saves the text readable by its owner only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from d2a_tui.cli.base import common_options, open_hub, print_json
from d2a_tui.domain.display import json_shown, terminal_text


def _emit(args: argparse.Namespace, text: str) -> None:
    if getattr(args, "output", None):
        from d2a_tui.services.private_files import write_private

        path = write_private(args.output, terminal_text(text))  # a file is `cat`-ed too
        print(f"saved {path} (readable by you only)", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_find(args: argparse.Namespace) -> int:
    from d2a_tui.services import finding

    hub = open_hub(args)
    try:
        cards = hub.find(args.text, limit=args.limit)
        if args.json:
            print_json([finding.to_json(card, hub.flow) for card in cards])
            return 0
        if not cards:
            from d2a_tui.domain.errors import NotFound

            raise NotFound(f"nobody found for {args.text!r}, open or closed")
        more = " (the first ones: narrow the search)" if len(cards) == args.limit else ""
        print(f"{len(cards)} {'journey' if len(cards) == 1 else 'journeys'}{more}")
        for card in cards:
            print("\n".join(finding.lines(card, hub.flow, hub.calendar)))
        return 0
    finally:
        hub.close()


def cmd_handover(args: argparse.Namespace) -> int:
    from d2a_tui.services import handover

    hub = open_hub(args)
    try:
        now = hub.now()
        since = handover.parse_since(args.since, now, hub.calendar) if args.since else None
        report = hub.handover(since)
        if args.json:
            import json

            from d2a_tui.cli.base import _json_default

            document: Any = handover.to_json(report, hub.flow)
            text = json_shown(
                json.dumps(document, default=_json_default, indent=2, ensure_ascii=False)
            )
            _emit(args, text + "\n")
        else:
            _emit(args, "\n".join(handover.to_lines(report, hub.flow, hub.calendar)) + "\n")
        return 0
    finally:
        hub.close()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 1000")
    return value


def register(sub: Any) -> None:
    find = sub.add_parser(
        "find",
        help="find anyone, open or closed, by name, NHS number, journey id or ward",
        description="Searches every journey the hub has had, open and closed.",
    )
    common_options(find)
    find.add_argument("text", help="a name or part of one, an NHS number, a journey id, a ward")
    find.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    find.add_argument("--json", action="store_true")
    find.set_defaults(handler=cmd_find)

    handover = sub.add_parser(
        "handover",
        help="what changed since a time, per person: for the shift handover",
        description="New referrals, moves, discharges, new amber/red, delay reasons, notes and "
        "conflicts since --since, grouped per person, in time order, with who did it.",
    )
    common_options(handover)
    handover.add_argument(
        "--since",
        metavar="WHEN",
        help="20:00, yesterday 20:00, a date or 2026-11-23T20:00, in the hub's time zone "
        "(default: the start of the shift: 08:00 or 20:00, the one before in a shift's first hour)",
    )
    handover.add_argument("--json", action="store_true")
    handover.add_argument("--output", metavar="FILE", help="save to FILE (readable by you only)")
    handover.set_defaults(handler=cmd_handover)
