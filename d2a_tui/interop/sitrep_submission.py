"""The acute discharge sitrep as a submission file, built from the sitrep report d2a already makes.

Written for NHS England's "Acute discharge situation report: technical specification" (the edition
published 30 April 2024, replacing the 27 May 2022 one): the daily items by pathway, the weekly
length-of-stay cohorts with their additional bed days, the weekly count of patients with a length
of stay of 14+ days who no longer meet the criteria to reside by delay reason, and the monthly
discharges by destination. Only the specification's publication page could be consulted, not its
text: the item numbers, the delay reason codes (01-18, in the order of d2a's acute reason list)
and the row layout are d2a's labels, to be checked against the current SDCS template. d2a's
community-sitrep reasons are mapped to the acute reason that covers them, and a reason without an
acute equivalent is reported under "not mapped" (code 99), never dropped. One CSV row per item.
NHS England's published monthly files already group the delay reasons differently (hospital
process, care transfer hub, interface, capacity, wellbeing; length of stay 7+): see the README
before relying on item 3.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from d2a_tui.domain.cells import spreadsheet_cell
from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.outcomes import DESTINATIONS
from d2a_tui.reports.sitrep import NO_REASON, UNDECIDED
from d2a_tui.reports.tables import Report

SPECIFICATION = (
    "Acute discharge situation report: technical specification (NHS England, 30 April 2024)"
)
HEADER = ("organisation_code", "period_end", "section", "item", "breakdown", "description", "value")

ACUTE = tuple(reason for reason in DELAY_REASONS if reason.sitrep == "acute")
SPEC_CODES = {reason.code: f"{index:02d}" for index, reason in enumerate(ACUTE, start=1)}
# The community return's reasons, under the acute reason whose wording covers them.
COMMUNITY_TO_ACUTE = {
    "THERINT": "THERAPY",
    "HUBREF": "HUBCONF",
    "P1NEW": "P1CARE",
    "P1CONT": "P1CARE",
    "P2OTHER": "P2BED",
    "P3EOL": "P3BED",
    "READMIT": "REPAT",
    "HOUSING": "HOMELESS",
}
NOT_RECORDED, NOT_MAPPED = "00", "99"
_TEXT_TO_CODE = {reason.text: reason.code for reason in DELAY_REASONS}


def spec_code(d2a_code: str | None) -> str:
    """The specification's delay reason code for one of d2a's codes."""
    if not d2a_code:
        return NOT_RECORDED
    return SPEC_CODES.get(COMMUNITY_TO_ACUTE.get(d2a_code, d2a_code), NOT_MAPPED)


def submission_rows(report: Report, organisation: str) -> list[tuple[str, ...]]:
    """Every item of the sitrep report, coded. `report` must hold the weekly and monthly tables."""
    day: date = report.parameters["date"]
    end = day.isoformat()
    rows: list[tuple[str, ...]] = []

    def add(section: str, item: str, breakdown: str, description: str, value: object) -> None:
        rows.append((organisation, end, section, item, breakdown, description, str(value)))

    daily = report.table("daily")
    labels = {**{p: p for p in PATHWAYS}, UNDECIDED: "PX", "Total": "ALL"}
    for row in daily.rows:
        pathway = labels.get(row[0], row[0])
        add("daily", "1a", pathway, "Patients who no longer meet the criteria to reside", row[1])
        add("daily", "1b", pathway, "Of those, patients discharged", row[2])
        add(
            "daily",
            "1c",
            pathway,
            "Patients remaining who no longer meet the criteria to reside",
            row[3],
        )
    for row in report.table("weekly_cohorts").rows:
        cohort = f"LOS{row[0].split('+')[0]}+"
        add(
            "weekly",
            "2a",
            cohort,
            "Patients remaining who no longer meet the criteria to reside",
            row[1],
        )
        add("weekly", "2b", cohort, "Additional bed days since the discharge-ready date", row[2])
    by_code: dict[str, int] = {code: 0 for code in (*SPEC_CODES.values(), NOT_MAPPED, NOT_RECORDED)}
    total = 0
    for text, value in report.table("weekly_reasons").rows:
        if text == "Total":
            total = int(value)
            continue
        code = NOT_RECORDED if text == NO_REASON else spec_code(_TEXT_TO_CODE.get(text))
        by_code[code] += int(value)
    for reason in ACUTE:
        add("weekly", "3", SPEC_CODES[reason.code], reason.text, by_code[SPEC_CODES[reason.code]])
    add("weekly", "3", NOT_MAPPED, "Reason without an acute sitrep equivalent", by_code[NOT_MAPPED])
    add("weekly", "3", NOT_RECORDED, "No delay reason recorded", by_code[NOT_RECORDED])
    add(
        "weekly",
        "3",
        "ALL",
        "Patients with a length of stay of 14+ days who no longer meet the criteria to reside",
        total,
    )
    monthly = {(row[0], row[1]): row[2] for row in report.table("monthly").rows}
    for index, destination in enumerate(DESTINATIONS, start=1):
        add("monthly", "4", f"{index:02d}", f"{destination.pathway}: {destination.text}",
            monthly.get((destination.pathway, destination.text), 0))  # fmt: skip
    unrecorded = sum(
        v for (p, text), v in monthly.items() if text == "Destination not yet recorded"
    )
    add("monthly", "4", "00", "Discharges whose destination is not yet recorded", unrecorded)
    add("monthly", "4", "ALL", "Discharges in the month to date", monthly.get(("Total", ""), 0))
    return rows


def render_submission(report: Report, organisation: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    # Text (the organisation code a user typed, say) is made inert for a spreadsheet.
    writer.writerows(
        [spreadsheet_cell(str(cell)) for cell in row]
        for row in submission_rows(report, organisation)
    )
    return buffer.getvalue()
