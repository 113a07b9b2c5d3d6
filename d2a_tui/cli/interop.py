"""The interop commands: `d2a import`, `d2a adt …`, `d2a export fhir`, and the sitrep's
submission format on `d2a report sitrep`. Registered by `d2a_tui.cli` like the other feature areas."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from d2a_tui.cli.base import open_hub
from d2a_tui.domain.errors import InvalidInput


def register(sub: Any) -> None:
    add_interop_commands(sub)


def add_interop_commands(sub: Any) -> None:
    from d2a_tui.cli.adt import add_adt_commands
    from d2a_tui.cli.exports import add_export_commands, extend_report_command

    importing = sub.add_parser(
        "import",
        help="bring a caseload spreadsheet (CSV or Excel) in as journeys",
        description="Bring a hub's caseload sheet in: rows are matched to journeys by NHS number "
        "and admission date, so importing the same file again changes nothing. All or nothing.",
    )
    importing.add_argument(
        "file", type=Path, help="a .xlsx workbook, or a .csv/.txt/.tsv text file as Excel saves it"
    )
    importing.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    importing.add_argument(
        "--map", type=Path, metavar="MAP.toml", help="a [columns] table naming the sheet's headers"
    )
    importing.add_argument(
        "--dry-run", action="store_true", help="print what would change and every refused row"
    )
    importing.add_argument(
        "--include-hidden",
        action="store_true",
        help="take the rows the workbook hides too (by default they are left out, and named)",
    )
    importing.add_argument("--db", metavar="URL")
    importing.add_argument("--user")
    importing.set_defaults(handler=cmd_import)
    add_adt_commands(sub)
    add_export_commands(sub)
    extend_report_command(sub)


def cmd_import(args: argparse.Namespace) -> int:
    from d2a_tui.interop.importer import Planner, apply_import
    from d2a_tui.interop.sheet import load_mapping, read_sheet

    try:
        sheet = read_sheet(
            args.file,
            sheet_name=args.sheet,
            mapping=load_mapping(args.map),
            include_hidden=args.include_hidden,
        )
    except IsADirectoryError as error:
        raise InvalidInput(f"{error.filename or args.file!r} is a folder, not a file") from None
    hub = open_hub(args)
    now = hub.now()
    plan = Planner(hub.store, hub.calendar, now).plan(sheet)
    verb = "would " if args.dry_run else ""
    if args.dry_run:
        _describe_sheet(args.file, sheet)
    for warning in sheet.warnings:  # on every run: a date the hub meant d2a to read is not read
        print(f"d2a: warning: {warning}", file=sys.stderr)
    for note in sheet.row_notes:
        print(f"row {note.number:>5}  {note.what}")
    if args.dry_run or plan.refused:
        for row in plan.rows:
            if row.action != "unchanged" or args.dry_run:
                print(f"row {row.row:>5}  {row.action:<9} …{row.nhs_number[-4:]}  {row.detail}")
        for refusal in plan.refused:
            print(f"row {refusal.row:>5}  refused   {refusal.reason}")
    created, updated, unchanged = (len(plan.of(a)) for a in ("create", "update", "unchanged"))
    skipped = f"; {len(plan.blank_rows)} blank row(s) skipped" if plan.blank_rows else ""
    if sheet.skipped:
        skipped += f"; {len(sheet.skipped)} row(s) left out (listed above)"
    summary = (
        f"{verb}create {created}, {verb}update {updated}, unchanged {unchanged}, "
        f"refused {len(plan.refused)}{skipped}"
    )
    if args.dry_run:
        print(summary)
        if plan.refused:
            raise InvalidInput(f"{len(plan.refused)} row(s) cannot be imported as they stand")
        return 0
    written = apply_import(hub.store, plan, hub.actor, now)
    print(f"imported: {summary} ({written} events)")
    sys.stdout.flush()
    return 0


def _describe_sheet(path: Path, sheet: Any) -> None:
    """What was read and how: the file's shape, each column and what it was read as, and every
    column left out, so a person sees before the real run what d2a will and will not take."""
    print(f"{path.name}: {sheet.source}; header on row {sheet.header_row}")
    for column in sheet.columns:
        print(f"  column {column.letter:<3} {column.header!r:<28} read as {column.words} "
              f"(by {column.by})")  # fmt: skip
    for left in sheet.left_out:
        why = "holds dates: " if left.dates else ""
        print(f"  column {left.letter:<3} {left.header!r:<28} left out ({why}not a field d2a "
              "reads; a --map file can name it)")  # fmt: skip
