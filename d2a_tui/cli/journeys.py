"""The journey commands: refer, move, delay, note, ready, expected, close, reopen, assign, undo,
and reading them back (list, show, flow).

Each acts through the Hub as the board does; `--expect-version` refuses a change to a journey
someone else changed since the script looked, and `--json` prints the card (a stable contract:
keys are only ever added).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import common_options, open_hub, print_json, typed_day
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.stuck import Stuck

if TYPE_CHECKING:
    from rich.console import Console

    from d2a_tui.domain.views import Card, Change
    from d2a_tui.services.hub import Hub

Handler = Callable[[argparse.Namespace], int]


def card_json(card: Card, stuck: Stuck) -> dict[str, Any]:
    return {
        "id": card.journey_id,
        "column": card.column,
        "pathway": card.pathway,
        "nhs_number": card.nhs_number,
        "name": card.name,
        "date_of_birth": card.date_of_birth,
        "ward": card.ward,
        "bed": card.bed,
        "admitted_on": card.admitted_on,
        "referred_at": card.referred_at,
        "entered_column_at": card.entered_column_at,
        "discharge_ready_date": card.discharge_ready_date,
        "expected_discharge_date": card.expected_discharge_date,
        "delay_reason": card.delay_reason,
        "assigned_to": card.assigned_to,
        "outcome": card.outcome,
        "discharged_at": card.discharged_at,
        "closed_at": card.closed_at,
        "notes": card.notes,
        "version": card.version,
        "updated_at": card.updated_at,
        "updated_by": card.updated_by,
        "stuck": stuck.level.label,
        "stuck_reasons": list(stuck.reasons),
        "offer": None
        if card.offer is None
        else {
            "offer_id": card.offer.offer_id,
            "service_id": card.offer.service_id,
            "service": card.offer_service,
            "status": card.offer.status,
            "made_at": card.offer.made_at,
            "start": card.offer.start,
        },
    }


def cmd_refer(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    change = hub.refer(
        args.nhs,
        args.name,
        hub.calendar.parse_date(args.dob, "date of birth", now=hub.clock()),
        ward=args.ward,
        bed=args.bed,
        pathway=args.pathway,
        admitted_on=typed_day(hub, args.admitted, "admission date"),
        discharge_ready_date=typed_day(hub, args.ready, "discharge-ready date"),
        expected_discharge_date=typed_day(hub, args.expected, "expected discharge date"),
        locality=args.locality,
    )
    if args.json:
        print_json(card_json(change.card, hub.stuck(change.card)))
    else:
        print(change.card.journey_id)
    return 0


def _changed(args: argparse.Namespace, hub: Hub, change: Change) -> int:
    if getattr(args, "json", False):
        print_json(card_json(change.card, hub.stuck(change.card)))
    else:
        column = hub.flow.column(change.card.column).name
        print(
            f"{change.card.short_id} {change.event.kind}: now in {column} (version {change.card.version})"
        )
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    journey_id = hub.resolve(args.journey)
    change = hub.move(
        journey_id,
        hub.flow.resolve(args.column),
        base_version=args.expect_version,
        outcome=args.outcome,
        destination=args.destination,
    )
    return _changed(args, hub, change)


def cmd_delay(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    if not args.clear and not args.code:
        raise D2AError("give a delay reason code, or --clear")
    change = hub.set_delay(
        hub.resolve(args.journey),
        None if args.clear else args.code,
        base_version=args.expect_version,
    )
    return _changed(args, hub, change)


def cmd_note(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    journey_id = hub.resolve(args.journey)
    if args.expect_version is not None:
        # Notes never conflict with others' changes, but a script that says what it saw means it.
        from d2a_tui.cli.checks import check_version

        check_version(hub, journey_id, args.expect_version)
    return _changed(args, hub, hub.add_note(journey_id, args.text))


def cmd_ready(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    ready = None if args.clear else typed_day(hub, args.date, "discharge-ready date")
    if ready is None and not args.clear:
        raise D2AError(
            "give the discharge-ready date, or --clear if the person meets the criteria to reside again"
        )
    return _changed(
        args,
        hub,
        hub.set_ready_date(hub.resolve(args.journey), ready, base_version=args.expect_version),
    )


def cmd_expected(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    return _changed(
        args,
        hub,
        hub.set_expected_date(
            hub.resolve(args.journey),
            typed_day(hub, args.date, "expected discharge date"),
            base_version=args.expect_version,
        ),
    )


def cmd_close(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    change = hub.close_journey(
        hub.resolve(args.journey),
        args.outcome,
        destination=args.destination,
        base_version=args.expect_version,
    )
    return _changed(args, hub, change)


def cmd_reopen(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    return _changed(
        args,
        hub,
        hub.reopen(
            hub.resolve(args.journey),
            hub.flow.resolve(args.column) if args.column else None,
            base_version=args.expect_version,
        ),
    )


def cmd_assign(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    to = None if args.nobody else (args.to or "")
    return _changed(
        args, hub, hub.assign(hub.resolve(args.journey), to, base_version=args.expect_version)
    )


def cmd_undo(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    view = hub.journey(hub.resolve(args.journey))
    latest = view.timeline[-1].event
    return _changed(args, hub, hub.undo(latest))


def cmd_list(args: argparse.Namespace) -> int:
    from d2a_tui.cli.checks import check_list_filters

    hub = open_hub(args)
    check_list_filters(hub, args)
    rows = hub.list_cards(
        column=args.column,
        pathway=args.pathway.upper() if args.pathway else None,
        ward=args.ward,
        delay_reason=args.delay.upper() if args.delay else None,
        stuck_only=args.stuck,
    )
    if args.where:
        from d2a_tui.cli.board import filter_rows

        rows = filter_rows(hub, rows, args.where)
    if args.json:
        print_json([card_json(card, stuck) for card, stuck in rows])
        return 0
    from d2a_tui.cli.streams import console

    print_list_table(hub, rows, console())
    return 0


# Least useful first: what goes when the terminal is too narrow for every column. The name never
# goes; the pathway is in the column's name, and the ward, delay and NHS number are on `d2a show`.
LIST_DROP_ORDER = ("path", "ward/bed", "delay", "NHS no.", "ready", "in column", "column")


LIST_HEADINGS = ("id", "column", "path", "NHS no.", "name", "ward/bed", "in column", "ready",
                 "delay", "stuck")  # fmt: skip


def print_list_table(hub: Hub, rows: list[tuple[Card, Stuck]], console: Console) -> None:
    """The open journeys as a table as wide as the terminal: columns that do not fit are left
    out, least useful first, rather than squeezing the name. Piped, every column, unwrapped."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from d2a_tui.domain.display import shown as literal_text
    from d2a_tui.domain.nhs_number import format_nhs_number
    from d2a_tui.domain.timefmt import humanise

    now = hub.now()
    columns: dict[str, list[str]] = {heading: [] for heading in LIST_HEADINGS}
    for card, stuck in rows:
        ready = (
            f"{hub.calendar.days_since(card.discharge_ready_date, now)}d"
            if card.discharge_ready_date
            else ""
        )
        values = (
            card.short_id, hub.flow.column(card.column).name, card.pathway or "",
            format_nhs_number(card.nhs_number), card.name,
            "/".join(part for part in (card.ward, card.bed) if part),
            humanise(now - card.entered_column_at), ready, card.delay_reason or "",
            stuck.level.label,
        )  # fmt: skip
        for heading, value in zip(columns, values, strict=True):
            columns[heading].append(literal_text(value))

    def width(headings: list[str]) -> int:
        # Each column: its widest cell, a space either side and a rule; one more rule at the end.
        return 1 + sum(3 + max(map(cell_len, [h, *columns[h]])) for h in headings)

    shown = list(columns)
    if console.is_terminal:
        for heading in LIST_DROP_ORDER:
            if width(shown) <= console.width:
                break
            shown.remove(heading)
    else:
        console.width = max(console.width, width(shown))  # a pipe gets whole lines
    table = Table(title=f"{len(rows)} open journeys", expand=False)
    for heading in shown:
        table.add_column(heading, no_wrap=heading != "name")
    styles = {"ok": "", "amber": "yellow", "red": "bold red"}
    for index, (_, stuck) in enumerate(rows):
        # Literal cells: a name holding `[/]` is a name, not Rich markup.
        table.add_row(*(Text(columns[h][index]) for h in shown), style=styles[stuck.level.label])
    console.print(table)


def cmd_show(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    view = hub.journey(hub.resolve(args.journey), purpose="show")
    stuck = hub.stuck(view.card)
    if args.json:
        document = card_json(view.card, stuck)
        document["locality"] = view.locality
        document["events"] = [entry.to_dict() for entry in view.timeline]
        print_json(document)
        return 0
    from rich.text import Text

    from d2a_tui.cli.streams import console as make_console
    from d2a_tui.domain.display import shown
    from d2a_tui.domain.nhs_number import format_nhs_number

    console = make_console()
    card = view.card
    console.print(
        Text.assemble(
            (shown(card.name), "bold"),
            f"  NHS {format_nhs_number(card.nhs_number)}  born {card.date_of_birth}",
        )
    )
    console.print(
        Text(
            shown(
                f"journey {card.journey_id}  {hub.flow.column(card.column).name}  "
                f"pathway {card.pathway or '-'}  ward {card.ward or '-'} bed {card.bed or '-'}  "
                f"version {card.version}  stuck: {stuck.level.label}"
            )
        )
    )
    for reason in stuck.reasons:
        console.print(Text(shown(f"  • {reason}")))
    for entry in view.timeline:
        event = entry.event
        when = event.occurred_at.astimezone().strftime("%d %b %Y %H:%M")
        details = ", ".join(
            f"{k}={v}" for k, v in event.payload.items() if k != "patient" and v not in (None, "")
        )
        console.print(
            Text(shown(f"{when}  {event.actor:<12} {event.kind:<18} {details}")), highlight=False
        )
    return 0


def cmd_flow(args: argparse.Namespace) -> int:
    from d2a_tui.config import Settings
    from d2a_tui.domain.delays import DELAY_REASONS
    from d2a_tui.domain.flow import load_flow
    from d2a_tui.domain.timefmt import as_typed

    # The flow comes from the settings, not the database; --db is taken like every command's.
    flow = load_flow(Settings.load(database_url=args.db, user=args.user).flow_path)
    if args.json:
        document = flow.to_dict()
        document["delay_reasons"] = [
            {"code": reason.code, "text": reason.text, "sitrep": reason.sitrep}
            for reason in DELAY_REASONS
        ]
        print_json(document)
        return 0
    print(flow.name)
    print("Columns (id, name, pathway, where; amber and red after; allowed moves):")
    for column in flow.columns:
        thresholds = ""
        if column.amber_after or column.red_after:
            amber = as_typed(column.amber_after) if column.amber_after else "-"
            red = as_typed(column.red_after) if column.red_after else "-"
            thresholds = f"  amber {amber:<5} red {red:<5}"
        moves = ", ".join(column.moves) or "-"
        print(
            f"  {column.id:<10} {column.name:<16} {column.pathway or '':<3} {column.location:<9}"
            f"{thresholds}  → {moves}"
        )
    limits = flow.limits
    print(
        f"Days since discharge-ready: amber {limits.ready_amber_days}d, red "
        f"{limits.ready_red_days}d; length of stay: amber {limits.los_amber_days}d, red "
        f"{limits.los_red_days}d"
    )
    print(
        f"Unanswered offers: amber {as_typed(flow.offers.amber_after)}, red "
        f"{as_typed(flow.offers.red_after)}"
    )
    print("Delay reasons (the code is what `d2a delay` and `delay:` take):")
    for reason in DELAY_REASONS:
        print(f"  {reason.code:<9} {reason.text}")
    return 0


def _journey_command(
    sub: Any, name: str, handler: Handler, help_text: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    common_options(parser)
    parser.add_argument("journey", help="journey id or an unambiguous prefix of it")
    parser.add_argument(
        "--expect-version", type=int, help="refuse if the journey is no longer at this version"
    )
    parser.add_argument("--json", action="store_true", help="print the journey as JSON")
    parser.set_defaults(handler=handler)
    return parser


def add_journey_commands(sub: Any) -> None:
    """refer … undo, list, show and flow."""
    refer = sub.add_parser("refer", help="refer a patient to the hub; prints the new journey's id")
    common_options(refer)
    refer.add_argument("--nhs", required=True, help="NHS number (10 digits, spaces allowed)")
    refer.add_argument("--name", required=True)
    refer.add_argument("--dob", required=True, help="date of birth, YYYY-MM-DD or DD/MM/YYYY")
    refer.add_argument("--ward")
    refer.add_argument("--bed")
    refer.add_argument("--pathway", help="proposed pathway: P0, P1, P2 or P3")
    refer.add_argument(
        "--admitted", help="admission date: today, yesterday, YYYY-MM-DD, DD/MM/YYYY"
    )
    refer.add_argument("--ready", help="discharge-ready date (same forms)")
    refer.add_argument("--expected", help="expected discharge date (same forms)")
    refer.add_argument("--locality")
    refer.add_argument("--json", action="store_true")
    refer.set_defaults(handler=cmd_refer)

    move = _journey_command(sub, "move", cmd_move, "move a journey to another column")
    move.add_argument("column", help='target column, by id or name: await_p1, "Awaiting P1"')
    move.add_argument("--outcome", help="needed when moving to the closed column")
    move.add_argument("--destination", help="discharge destination code (monthly sitrep category)")

    delay = _journey_command(sub, "delay", cmd_delay, "set or clear a journey's delay reason")
    delay.add_argument("code", nargs="?", help="delay reason code, e.g. P1CARE")
    delay.add_argument("--clear", action="store_true")

    note = _journey_command(sub, "note", cmd_note, "add a note to a journey")
    note.add_argument("text")

    ready = _journey_command(
        sub, "ready", cmd_ready, "set the discharge-ready date (no criteria to reside from)"
    )
    ready.add_argument("date", nargs="?", help="today, yesterday, YYYY-MM-DD or DD/MM/YYYY")
    ready.add_argument(
        "--clear", action="store_true", help="the person meets the criteria to reside again"
    )

    expected = _journey_command(sub, "expected", cmd_expected, "set the expected date of discharge")
    expected.add_argument("date", nargs="?", help="today, YYYY-MM-DD or DD/MM/YYYY; omit to clear")

    close = _journey_command(sub, "close", cmd_close, "close a journey with its outcome")
    close.add_argument(
        "outcome", help="home_independent, home_with_care, care_home, readmitted, died or other"
    )
    close.add_argument("--destination", help="discharge destination code (monthly sitrep category)")

    reopen = _journey_command(sub, "reopen", cmd_reopen, "reopen a closed journey")
    reopen.add_argument(
        "column", nargs="?", help="column to reopen into, by id or name (default: the first)"
    )

    assign = _journey_command(sub, "assign", cmd_assign, "assign a journey (to you by default)")
    assign.add_argument("to", nargs="?")
    assign.add_argument("--nobody", action="store_true", help="unassign")

    _journey_command(
        sub, "undo", cmd_undo, "undo the journey's latest change with a compensating event"
    )

    listing = sub.add_parser("list", help="list open journeys")
    common_options(listing)
    listing.add_argument("--column", help='a column, by id or name: await_p1, "Awaiting P1"')
    listing.add_argument("--pathway")
    listing.add_argument("--ward")
    listing.add_argument("--delay", help="delay reason code")
    listing.add_argument(
        "--stuck", action="store_true", help="only amber and red journeys, worst first"
    )
    listing.add_argument(
        "--where",
        metavar="FILTER",
        help="the board's filter language, e.g. 'ward:7B red ready>1d', or @VIEW",
    )
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    show = sub.add_parser("show", help="one journey with its whole timeline")
    common_options(show)
    show.add_argument("journey")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    flow = sub.add_parser(
        "flow",
        help="print the flow in force: columns, thresholds, allowed moves, delay reason codes",
    )
    common_options(flow)
    flow.add_argument("--json", action="store_true")
    flow.set_defaults(handler=cmd_flow)
