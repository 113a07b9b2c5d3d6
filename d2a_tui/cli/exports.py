"""Figures and records out: `d2a report sitrep --format submission` and `d2a export fhir`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from d2a_tui.cli.base import open_hub
from d2a_tui.domain.display import json_shown
from d2a_tui.domain.errors import InvalidInput


def extend_report_command(sub: Any) -> None:
    """Adds `submission` to `d2a report --format` (registered by the reports' own module)."""
    report = sub.choices.get("report")
    if report is None:
        return
    for action in report._actions:
        if "--format" in action.option_strings and action.choices is not None:
            action.choices = (*action.choices, "submission")
            action.help = (action.help or "") + "; sitrep: `submission`, the national return's file"
    report.add_argument(
        "--org",
        metavar="CODE",
        default=None,
        help="submission: the trust's ODS code (default: `organisation_code` in the settings)",
    )
    original = report.get_default("handler")

    def handler(args: argparse.Namespace) -> int:
        if args.format != "submission":
            return original(args)
        return cmd_sitrep_submission(args)

    report.set_defaults(handler=handler)


def cmd_sitrep_submission(args: argparse.Namespace) -> int:
    from d2a_tui.interop.sitrep_submission import render_submission

    if args.kind != "sitrep":
        raise InvalidInput("--format submission is for `report sitrep` only")
    if getattr(args, "first", None) or getattr(args, "last", None):
        raise InvalidInput("the sitrep is for one day: use --date, not --from/--to")
    organisation = _organisation(args)
    hub = open_hub(args)
    report = hub.reports.sitrep(args.date, week=True, month=True, locality=args.locality)
    sys.stdout.write(render_submission(report, organisation))
    return 0


def _organisation(args: argparse.Namespace) -> str:
    """`--org`, else the hub's `organisation_code` setting: a return without the trust's code is
    refused rather than written with a blank one that the collection would reject or misfile."""
    from d2a_tui.config import Settings, ods_code

    if args.org is not None:
        return ods_code(args.org)
    code = Settings.load(database_url=getattr(args, "db", None)).organisation_code
    if code is None:
        raise InvalidInput(
            "the submission needs the trust's organisation code: give --org RXX or set "
            "organisation_code in the config file (D2A_ORGANISATION_CODE)"
        )
    return code


def add_export_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="records out: FHIR UK Core")
    formats = export.add_subparsers(dest="export_format", metavar="FORMAT", required=True)
    fhir = formats.add_parser(
        "fhir", help="a FHIR R4 Bundle (UK Core) of journeys: Patient, Encounter, EpisodeOfCare"
    )
    which = fhir.add_mutually_exclusive_group()
    which.add_argument("--journey", metavar="J", help="one journey (id or unique prefix)")
    which.add_argument(
        "--since", metavar="DATE", help="journeys changed on or after this day (default: all open)"
    )
    fhir.add_argument("--db", metavar="URL")
    fhir.set_defaults(handler=cmd_export_fhir)


def cmd_export_fhir(args: argparse.Namespace) -> int:
    from d2a_tui.interop.fhir_export import export_bundle

    hub = open_hub(args)
    bundle = export_bundle(hub, journey=args.journey, since=args.since)
    # The same data, with every character a terminal would act on as a \u escape.
    sys.stdout.write(json_shown(json.dumps(bundle, indent=2, ensure_ascii=False)) + "\n")
    return 0
