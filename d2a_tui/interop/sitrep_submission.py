"""The acute discharge sitrep as a submission file, built from the sitrep report d2a already makes.

What NHS England collects is read from its published monthly data files (one row per organisation,
period, metric group and metric): the daily items by pathway, the weekly length-of-stay cohorts
with their additional bed days, delay reasons for patients with a length of stay of 14+ days and
(since 27 May 2024) of 7+ days under five headings, the monthly discharges by destination grouped
by pathway, and (from August 2025) the month's delayed bed days, their daily average and their
cost. The collection's template itself could not be consulted: the item numbers, the breakdown
codes and the row layout are d2a's labels (docs/guide/connecting.md lists what is and is not
confirmed).

Items: 1a/1b/1c daily by pathway; 2a/2b weekly cohorts; 3 LoS 14+ by the 18 reasons of the
earlier list (01-18; d2a's other reasons under the one that covers them, else 99 "not mapped",
never dropped); 5 LoS 7+ by heading and by d2a reason within it; 4 the month's discharges by the
12 destinations; 6 the month's delayed bed days and their daily average. One CSV row per item.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from d2a_tui.domain.cells import spreadsheet_cell
from d2a_tui.domain.delays import DELAY_REASONS, GROUPS
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.outcomes import DESTINATIONS
from d2a_tui.reports.sitrep import DAILY_AVERAGE, DELAYED_DAYS, NO_REASON, UNDECIDED
from d2a_tui.reports.tables import Report

SPECIFICATION = (
    "Acute discharge situation report, as NHS England's published monthly data files name its "
    "metrics (delay reasons grouped from 27 May 2024; delayed bed days from August 2025)"
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
    _grouped(report, add)
    monthly = {(row[0], row[1]): row[2] for row in report.table("monthly").rows}
    for index, destination in enumerate(DESTINATIONS, start=1):
        add("monthly", "4", f"{index:02d}", f"{destination.pathway}: {destination.text}",
            monthly.get((destination.pathway, destination.text), 0))  # fmt: skip
    unrecorded = sum(v for (p, text), v in monthly.items() if text == _UNRECORDED)
    add("monthly", "4", "00", "Discharges whose destination is not yet recorded", unrecorded)
    # The published files group destinations by pathway; a discharge whose destination is not
    # yet recorded still counts under its journey's pathway.
    for group, description in PATHWAY_GROUPS.items():
        total = sum(
            value
            for (pathway, text), value in monthly.items()
            if pathway == group and (text in _DESTINATION_TEXTS or text == _UNRECORDED)
        )
        add("monthly", "4", f"PW{group[1:]}", description, total)
    add("monthly", "4", "ALL", "Discharges in the month to date", monthly.get(("Total", ""), 0))
    delays = dict(report.table("monthly_delays").rows)
    add("monthly", "6", "DAYS", "Total number of delayed bed days in the month",
        delays[DELAYED_DAYS])  # fmt: skip
    add("monthly", "6", "AVG", DAILY_AVERAGE, delays[DAILY_AVERAGE])
    return rows


_UNRECORDED = "Destination not yet recorded"
_DESTINATION_TEXTS = {destination.text for destination in DESTINATIONS}
# The pathway groups of the month's discharges: P1 and P2 worded as NHS England's published
# files name them; P0, P3 and P3b in d2a's words (their published names were not seen).
PATHWAY_GROUPS = {
    "P0": "Pathway 0: discharge home or to usual place of residence, without new support",
    "P1": "Pathway 1: Discharge to a domestic home, hotel, or other temporary accommodation, or "
    "hospice at home with rehabilitation, reablement and recovery",
    "P2": "Pathway 2: Short-term bed/hospice for rehabilitation, reablement and recovery / end "
    "of life care",
    "P3": "Pathway 3: discharge to a care home, new admission likely to be permanent",
    "P3b": "Pathway 3b: existing care home resident back to their care home, or designated setting",
}
_GROUP_CODES = {heading: group.upper() for group, heading in GROUPS.items()}
_CODE_BY_TEXT = {reason.text: reason.code for reason in DELAY_REASONS}


def _grouped(report: Report, add: Any) -> None:
    """Item 5: length of stay 7+ by heading (its total, then each d2a reason under it)."""
    for heading, text, value in report.table("weekly_groups").rows:
        if heading == "Total":
            add("weekly", "5", "ALL", "Patients with a length of stay of 7+ days who no longer "
                "meet the criteria to reside", value)  # fmt: skip
        elif not heading:
            add("weekly", "5", NOT_RECORDED, text, value)
        elif not text:
            add("weekly", "5", _GROUP_CODES[heading], heading, value)
        else:
            code = f"{_GROUP_CODES[heading]}/{_CODE_BY_TEXT[text]}"
            add("weekly", "5", code, text if " – " in text else f"{heading} – {text}", value)


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
