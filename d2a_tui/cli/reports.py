"""`d2a service`, `d2a capacity`, `d2a demand`, `d2a alerts`, `d2a ack` and `d2a report`.

Registered through `cli.COMMANDS`. Like the rest of the CLI, a problem the user can fix is
one line on stderr (a D2AError) and nothing is half-saved; `--json` output keys are only added to.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from d2a_tui.cli.base import common_options, open_hub, print_json
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.services import KINDS, UNITS
from d2a_tui.reports.tables import FORMATS, render

if TYPE_CHECKING:
    from d2a_tui.services.hub import Hub


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: capacity cannot be below zero")
    return value


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    from datetime import timedelta

    from d2a_tui.domain.timefmt import humanise

    return humanise(timedelta(seconds=seconds)) + " ago"


def _status_json(status: Any) -> dict[str, Any]:
    service, latest = status.service, status.latest
    return {
        "id": service.id,
        "name": service.name,
        "kind": service.kind,
        "pathway": service.pathway,
        "unit": service.unit,
        "organisation_id": service.organisation_id,
        "locality": service.locality,
        "total": latest.total if latest else None,
        "occupied": latest.occupied if latest else None,
        "vacant": latest.vacant if latest else None,
        "closed": latest.closed if latest else None,
        "available": latest.available if latest else None,
        "available_places": status.places if latest else None,
        "reported_at": latest.reported_at if latest else None,
        "reported_by": latest.reported_by if latest else None,
        "age_hours": round(status.age.total_seconds() / 3600, 1) if status.age else None,
        "stale": status.stale,
    }


def _gap_json(gap: Any) -> dict[str, Any]:
    return {
        "pathway": gap.pathway,
        "awaiting": gap.awaiting,
        "arriving_per_day": gap.arriving_per_day,
        "available_places": gap.available,
        "gap": gap.gap,
        "services": gap.services,
        "stale_services": gap.stale,
    }


def _print_statuses(hub: Hub) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from d2a_tui.cli.streams import console as make_console
    from d2a_tui.domain.display import shown

    table = Table(
        title="Capacity: latest report of each service", title_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
    )  # fmt: skip
    table.add_column("service", no_wrap=True, overflow="ellipsis", max_width=26)
    for heading in ("path", "unit", "total", "occ", "vacant", "closed", "avail", "reported"):
        table.add_column(heading, justify="left" if heading in ("path", "unit") else "right",
                         no_wrap=True, min_width=max(len(heading), 4))  # fmt: skip
    for status in hub.capacity.statuses():
        latest = status.latest
        cells = (
            [str(latest.total), str(latest.occupied), str(latest.vacant), str(latest.closed),
             str(latest.available)] if latest else ["-"] * 5
        )  # fmt: skip
        reported = _age(status.age.total_seconds() if status.age else None)
        values = (
            status.service.name,
            status.service.pathway,
            {"hours": "h/week", "packages": "pkgs"}.get(status.service.unit, status.service.unit),
            *cells,
            ("STALE " if status.stale else "") + reported,
        )
        # Literal cells: a service's name is data, never Rich markup.
        table.add_row(*(Text(shown(v)) for v in values), style="yellow" if status.stale else "")
    console = make_console()
    console.print(table)
    _print_gaps(hub, console)


def _print_gaps(hub: Hub, console: Any = None) -> None:
    from rich.text import Text

    from d2a_tui.cli.streams import console as make_console

    console = console or make_console()
    for gap in hub.capacity.gap_by_pathway().values():
        places = "no capacity reported" if gap.available is None else f"{gap.available} places"
        shown = "" if gap.gap is None else f"  gap {gap.gap:+d}"
        stale = f"  ({gap.stale} stale)" if gap.stale else ""
        console.print(
            Text(
                f"{gap.pathway}: {gap.awaiting} awaiting, {gap.arriving_per_day}/day arriving, "
                f"{places}{shown}{stale}"
            ),
            highlight=False,
        )


# --- handlers ----------------------------------------------------------------------------------


def cmd_service_add(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    service = hub.capacity.add_service(
        args.name, kind=args.kind, pathway=args.pathway, unit=args.unit, service_id=args.id,
        organisation_id=args.org, organisation_name=args.org_name, locality=args.locality,
    )  # fmt: skip
    if args.json:
        print_json({
            "id": service.id, "name": service.name, "kind": service.kind,
            "pathway": service.pathway, "unit": service.unit,
            "organisation_id": service.organisation_id, "locality": service.locality,
        })  # fmt: skip
    else:
        print(service.id)
    return 0


def cmd_service_list(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    if args.json:
        print_json([_status_json(status) for status in hub.capacity.statuses()])
        return 0
    _print_statuses(hub)
    return 0


def cmd_service_history(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    rows = hub.capacity.history(args.service, days=args.days)
    if args.json:
        print_json([
            {"reported_at": r.reported_at, "total": r.total, "occupied": r.occupied,
             "vacant": r.vacant, "closed": r.closed, "available": r.available,
             "reported_by": r.reported_by, "note": r.note}
            for r in rows
        ])  # fmt: skip
        return 0
    for r in rows:
        print(
            f"{r.reported_at.astimezone():%d %b %H:%M}  total {r.total:>5}  occupied {r.occupied:>5}"
            f"  vacant {r.vacant:>4}  closed {r.closed:>3}  by {r.reported_by}"
            + (f"  ({r.note})" if r.note else "")
        )
    return 0


def cmd_capacity(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    figures = (args.total, args.occupied, args.closed, args.vacant)
    if args.service is None:
        if any(value is not None for value in figures):
            raise InvalidInput("name the service whose capacity you are reporting")
        if args.json:
            print_json({
                "at": hub.now(),
                "services": [_status_json(s) for s in hub.capacity.statuses()],
                "demand": [_gap_json(g) for g in hub.capacity.gap_by_pathway().values()],
            })  # fmt: skip
        else:
            _print_statuses(hub)
        return 0
    if args.vacant is not None:
        if args.total is not None or args.occupied is not None:
            raise InvalidInput("give either --vacant, or --total and --occupied, not both")
        report = hub.capacity.update_vacancies(args.service, args.vacant, closed=args.closed)
    else:
        if args.total is None or args.occupied is None:
            raise InvalidInput(
                "a capacity report needs --total and --occupied (or --vacant for a quick update)"
            )
        report = hub.capacity.report(
            args.service, total=args.total, occupied=args.occupied, closed=args.closed or 0,
            note=args.note,
        )  # fmt: skip
    service = hub.capacity.service(report.service_id)
    if args.json:
        status = next(s for s in hub.capacity.statuses() if s.service.id == service.id)
        print_json(_status_json(status))
    else:
        print(
            f"{service.name}: {report.total} {service.unit}, {report.occupied} occupied, "
            f"{report.vacant} vacant ({report.closed} closed), {report.available} available"
        )
    return 0


def cmd_demand(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    gaps = hub.capacity.gap_by_pathway()
    trend = hub.capacity.trend(args.days) if args.trend else None
    if args.json:
        document: dict[str, Any] = {
            "at": hub.now(),
            "pathways": [_gap_json(g) for g in gaps.values()],
        }
        if trend is not None:
            document["trend"] = {
                pathway: [{"date": d.day, "awaiting": d.awaiting, "available_places": d.available,
                           "gap": d.gap} for d in days]
                for pathway, days in trend.items()
            }  # fmt: skip
        print_json(document)
        return 0
    _print_gaps(hub)
    if trend is not None:
        for pathway, days in trend.items():
            gaps_text = " ".join("." if d.gap is None else str(d.gap) for d in days)
            print(f"{pathway} gap, last {len(days)} days: {gaps_text}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    alerts = hub.alerts.list(include_snoozed=args.all, red_only=args.red)
    if args.json:
        print_json([alert.to_dict() for alert in alerts])
        return 0
    if not alerts:
        print("no stuck journeys" + ("" if args.all else " (snoozed ones hidden: --all)"))
        return 0
    for alert in alerts:
        card = alert.card
        snoozed = (
            f"  snoozed until {alert.snoozed_until.astimezone():%d %b %H:%M}"
            if alert.snoozed_until
            else ""
        )
        print(
            f"{alert.level.label.upper():<5} {card.short_id}  {alert.column_name:<16} "
            f"{card.pathway or '-':<3} {card.assigned_to or 'unassigned':<16}{snoozed}"
        )
        for reason in alert.reasons:
            print(f"      • {reason}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    until = None
    if args.until:
        try:
            until = datetime.fromisoformat(args.until)
        except ValueError:
            raise InvalidInput(
                f"--until {args.until!r} is not a date-time like 2026-11-24T08:00"
            ) from None
        if until.tzinfo is None:
            until = until.astimezone()  # the user's local time
    change = hub.alerts.acknowledge(
        hub.resolve(args.journey), args.reason, until=until, snooze=args.snooze
    )
    until_text = change.card.acknowledged_until
    print(
        f"{change.card.short_id} acknowledged"
        + (f", snoozed until {until_text.astimezone():%d %b %H:%M}" if until_text else "")
    )
    return 0


def _write(text: str, output: str | None = None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output:
        from d2a_tui.services.private_files import write_private

        print(f"saved {write_private(output, text)} (readable by you only)", file=sys.stderr)
        return
    sys.stdout.write(text)


def cmd_report(args: argparse.Namespace) -> int:
    hub = open_hub(args)
    reports = hub.reports
    if args.kind == "rebuild":
        count = reports.rebuild()
        print(f"folded {count:,} events into the report summaries")
        return 0
    if getattr(args, "json", False):
        args.format = "json"
    if args.kind == "offers":
        from d2a_tui.reports.offers import offers_report

        if args.date or args.week or args.month or args.locality:
            raise InvalidInput("`report offers` takes --from, --to and --as-known-at")
        report = offers_report(reports, args.first, args.last, as_known_at=args.as_known_at)
    elif args.kind == "sitrep":
        if args.first or args.last:
            raise InvalidInput("the sitrep is for one day: use --date, not --from/--to")
        report = reports.sitrep(
            args.date, week=args.week, month=args.month, locality=args.locality,
            as_known_at=args.as_known_at,
        )  # fmt: skip
    else:
        if args.date or args.week or args.month:
            raise InvalidInput(
                f"`report {args.kind}` takes --from and --to, not --date/--week/--month"
            )
        method = {"los": reports.los, "flow": reports.flow, "transitions": reports.transitions}
        report = method[args.kind](
            args.first, args.last, locality=args.locality, as_known_at=args.as_known_at
        )
    if args.format == "table":
        # A pipe or a file gets whole cells (a date never split over two lines).
        from d2a_tui.reports.tables import to_text

        terminal = sys.stdout.isatty() and not args.output
        width = shutil.get_terminal_size().columns if terminal else None
        _write(to_text(report, width, wrap=terminal), args.output)
    else:
        _write(render(report, args.format), args.output)
    return 0


# --- the parser --------------------------------------------------------------------------------


def register(sub: Any) -> None:
    service = sub.add_parser("service", help="services with capacity: add, list, history")
    service_sub = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    add = service_sub.add_parser("add", help="add a service (a reablement team, a P2 unit, …)")
    common_options(add)
    add.add_argument("name", help="what people call it, e.g. 'Meadowbank Intermediate Care Unit'")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--pathway", required=True, help="P1, P2 or P3")
    add.add_argument("--unit", required=True, choices=UNITS, help="what its capacity counts")
    add.add_argument("--id", help="short id (default: made from the name)")
    add.add_argument(
        "--org", help="the provider organisation that runs it, by id or name (e.g. northcare)"
    )
    add.add_argument(
        "--org-name",
        help="a new organisation: its name, to create --org with (e.g. 'Northcare Ltd')",
    )
    add.add_argument("--locality")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=cmd_service_add)
    listing = service_sub.add_parser("list", help="every service with its latest report")
    common_options(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_service_list)
    history = service_sub.add_parser("history", help="a service's capacity reports, newest first")
    common_options(history)
    history.add_argument("service")
    history.add_argument("--days", type=int, default=30)
    history.add_argument("--json", action="store_true")
    history.set_defaults(handler=cmd_service_history)

    capacity = sub.add_parser(
        "capacity",
        help="report a service's capacity, or (without SERVICE) show everyone's latest",
        description="Record a capacity report: `d2a capacity SERVICE --total N --occupied N "
        "[--closed N]`, or the quick update `d2a capacity SERVICE --vacant N`.",
    )
    common_options(capacity)
    capacity.add_argument("service", nargs="?", help="service id or an unambiguous start of it")
    capacity.add_argument("--total", type=_non_negative)
    capacity.add_argument("--occupied", type=_non_negative)
    capacity.add_argument("--closed", type=_non_negative, help="vacancies closed to admissions")
    capacity.add_argument("--vacant", type=_non_negative, help="quick update: vacancies now")
    capacity.add_argument("--note")
    capacity.add_argument("--json", action="store_true")
    capacity.set_defaults(handler=cmd_capacity)

    demand = sub.add_parser("demand", help="people awaiting each pathway against capacity")
    common_options(demand)
    demand.add_argument("--trend", action="store_true", help="add the gap on each recent day")
    demand.add_argument("--days", type=int, default=30)
    demand.add_argument("--json", action="store_true")
    demand.set_defaults(handler=cmd_demand)

    alerts = sub.add_parser("alerts", help="stuck journeys, worst first (for scripts and cron)")
    common_options(alerts)
    alerts.add_argument("--red", action="store_true", help="only red")
    alerts.add_argument("--all", action="store_true", help="include snoozed alerts")
    alerts.add_argument("--json", action="store_true")
    alerts.set_defaults(handler=cmd_alerts)

    ack = sub.add_parser("ack", help="acknowledge a journey's alert and snooze it")
    common_options(ack)
    ack.add_argument("journey")
    ack.add_argument("--reason", required=True)
    ack.add_argument("--for", dest="snooze", help="snooze for a while: 4h, 1d (default 24h)")
    ack.add_argument("--until", help="snooze until a date-time, e.g. 2026-11-24T08:00")
    ack.set_defaults(handler=cmd_ack)

    report = sub.add_parser(
        "report",
        help="sitrep, length of stay, flow, transitions and offers reports from the event log",
        description="Figures are computed from the event log, so a past date gives the "
        "figures as they stood at the end of that day, as now known (with changes recorded "
        "late); --as-known-at gives them as they stood with only what was recorded by then.",
    )
    common_options(report)
    report.add_argument(
        "kind", choices=("sitrep", "los", "flow", "transitions", "offers", "rebuild")
    )
    report.add_argument("--date", help="sitrep day, YYYY-MM-DD (default today)")
    report.add_argument("--week", action="store_true", help="sitrep: add the weekly snapshot")
    report.add_argument("--month", action="store_true", help="sitrep: add discharge destinations")
    report.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default 30 days back)")
    report.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (default today)")
    report.add_argument("--locality", help="only this locality's journeys")
    report.add_argument("--format", choices=FORMATS, default="table")
    report.add_argument("--json", action="store_true", help="the same as --format json")
    report.add_argument("--output", metavar="FILE", help="save to FILE (readable by you only)")
    report.add_argument(
        "--as-known-at",
        metavar="TIMESTAMP",
        help="the figures as they stood with only what had been recorded by then, e.g. "
        "2026-11-24T09:00 (hub time) or 2026-11-24 (its end); default: as now known",
    )
    report.set_defaults(handler=cmd_report)
