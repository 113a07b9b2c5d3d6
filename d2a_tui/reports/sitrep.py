"""The national discharge sitrep (acute), as at the end of a day, from the report summaries.

- Daily: (a) patients who no longer meet the criteria to reside (NCTR) = (b) + (c);
  (b) of those, patients discharged that day; (c) patients remaining in hospital at the end of the
  day who no longer meet the criteria to reside. By pathway.
- Weekly snapshot at the end of the day: for length-of-stay cohorts 7+/14+/21+ days, the NCTR
  patients remaining and their additional bed days since the discharge-ready date (a delayed day is
  each day in hospital after it: the date itself is not one); patients with LoS 14+ who no longer
  meet the criteria to reside, by delay reason (the sitrep's 18 in order, then the community
  additions, then "No delay reason recorded"); and patients with LoS 7+ who no longer meet the
  criteria to reside under the five headings NHS England publishes them by since 27 May 2024
  (hospital process, care transfer hub process, interface process, capacity, wellbeing concerns),
  reason by reason within each heading.
- Monthly: discharges by the 12 destination categories, for the month up to and including the day;
  the month's delayed bed days (each day's patients remaining in hospital who no longer meet the
  criteria to reside, summed over the month's days so far) and their daily average.

Deaths are not discharges: a person who dies is in none of the discharge figures (daily, monthly,
by pathway); deaths are a line of their own, and a death in hospital ends the NCTR span.
"""

from __future__ import annotations

from datetime import date

from d2a_tui.domain.delays import DELAY_REASONS, GROUPS
from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.domain.outcomes import DESTINATIONS
from d2a_tui.reports.fold import COHORTS
from d2a_tui.reports.summary import Summary
from d2a_tui.reports.tables import Table

NCTR = "Patients who no longer meet the criteria to reside"
DISCHARGED = "Of those, patients discharged"
REMAINING = "Patients remaining in hospital who no longer meet the criteria to reside"
UNDECIDED = "Pathway not yet decided"
NO_REASON = "No delay reason recorded"


def pathway_label(pathway: str) -> str:
    return pathway or UNDECIDED


def _by_pathway(values: dict[tuple[str, ...], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in values.items():
        out[key[0]] = out.get(key[0], 0) + value
    return out


def daily_table(summary: Summary, day: date, locality: str | None) -> Table:
    remaining = _by_pathway(summary.level_at("nctr", day, locality=locality))
    discharged = _by_pathway(summary.counts("nctr_discharges", day, day, locality=locality))
    pathways = [*PATHWAYS]
    if remaining.get("") or discharged.get(""):
        pathways.append("")
    rows = []
    for pathway in pathways:
        b, c = discharged.get(pathway, 0), remaining.get(pathway, 0)
        rows.append((pathway_label(pathway), b + c, b, c))
    total_b, total_c = sum(discharged.values()), sum(remaining.values())
    rows.append(("Total", total_b + total_c, total_b, total_c))
    return Table(
        "daily",
        f"Daily discharge sitrep, {day:%a %d %b %Y}",
        ("Pathway", NCTR, DISCHARGED, REMAINING),
        tuple(rows),
        note="Remaining = in hospital at the end of the day with a discharge-ready date on or before it.",
    )


DIED_IN_HOSPITAL = "Died in hospital"
DIED_NCTR = "Of those, no longer meeting the criteria to reside"
DIED_COMMUNITY = "Died in the community, on a pathway"


def deaths_table(summary: Summary, day: date, locality: str | None) -> Table:
    found = summary.counts("deaths", day, day, by=("key",), locality=locality)
    nctr = summary.counts("deaths_nctr", day, day, by=("key",), locality=locality)
    return Table(
        "deaths",
        f"Deaths, {day:%a %d %b %Y} (not discharges: in none of the figures above)",
        ("Deaths", "People"),
        (
            (DIED_IN_HOSPITAL, found.get(("hospital",), 0)),
            (DIED_NCTR, nctr.get(("hospital",), 0)),
            (DIED_COMMUNITY, found.get(("community",), 0)),
        ),
    )


def weekly_tables(summary: Summary, day: date, locality: str | None) -> tuple[Table, Table]:
    rows = []
    for days in COHORTS:
        count = sum(summary.level_at(f"nctr_los{days}", day, locality=locality).values())
        ready_sum = sum(summary.level_at(f"nctr_los{days}_rd", day, locality=locality).values())
        # Each patient's delayed days are day - ready_date; summed over the cohort that is
        # count * day - sum(ready_date), which is what the `_rd` metric stores the second half of.
        bed_days = count * day.toordinal() - ready_sum
        rows.append((f"{days}+ days", count, bed_days))
    cohorts = Table(
        "weekly_cohorts",
        f"Weekly snapshot at the end of {day:%a %d %b %Y}: length of stay cohorts",
        ("Length of stay", NCTR, "Additional bed days since the discharge-ready date"),
        tuple(rows),
    )
    by_reason: dict[str, int] = {}
    for (reason,), value in summary.level_at(
        "nctr_los14", day, by=("key",), locality=locality
    ).items():
        by_reason[reason] = by_reason.get(reason, 0) + value
    reason_rows = [
        (reason.text, by_reason.get(reason.code, 0))
        for reason in DELAY_REASONS
        if reason.sitrep == "acute" or by_reason.get(reason.code)
    ]
    known = {reason.code for reason in DELAY_REASONS}
    unknown = sum(v for code, v in by_reason.items() if code not in known)
    reason_rows.append((NO_REASON, unknown))
    reason_rows.append(("Total", sum(by_reason.values())))
    reasons = Table(
        "weekly_reasons",
        f"Weekly snapshot at the end of {day:%a %d %b %Y}: length of stay 14+ days, "
        "no longer meeting the criteria to reside, by delay reason",
        ("Delay reason", "Patients"),
        tuple(reason_rows),
    )
    return cohorts, reasons


def monthly_table(summary: Summary, day: date, locality: str | None) -> Table:
    first = day.replace(day=1)
    counts = summary.counts("discharges", first, day, by=("pathway", "key"), locality=locality)
    by_code: dict[str, int] = {}
    unrecorded: dict[str, int] = {}
    for (pathway, code), value in counts.items():
        if code:
            by_code[code] = by_code.get(code, 0) + value
        else:
            unrecorded[pathway] = unrecorded.get(pathway, 0) + value
    rows = [
        (destination.pathway, destination.text, by_code.get(destination.code, 0))
        for destination in DESTINATIONS
    ]
    for pathway in [*PATHWAYS, ""]:
        if unrecorded.get(pathway):
            rows.append(
                (pathway_label(pathway), "Destination not yet recorded", unrecorded[pathway])
            )
    rows.append(("Total", "", sum(by_code.values()) + sum(unrecorded.values())))
    died = summary.counts("deaths", first, day, by=("key",), locality=locality)
    rows.append(("Died in hospital (not a discharge)", "", died.get(("hospital",), 0)))
    return Table(
        "monthly",
        f"Discharges by destination, {first:%d %b} to {day:%d %b %Y}",
        ("Pathway", "Discharge destination", "Discharges"),
        tuple(rows),
        note="A discharge to P1/P2 is counted under its destination once the journey records it.",
    )


def grouped_delays_table(summary: Summary, day: date, locality: str | None) -> Table:
    """Length of stay 7+ and no longer meeting the criteria to reside, by NHS England's headings
    (the heading each reason is filed under is d2a's reading: see domain.delays)."""
    by_reason: dict[str, int] = {}
    for (reason,), value in summary.level_at(
        "nctr_los7", day, by=("key",), locality=locality
    ).items():
        by_reason[reason] = by_reason.get(reason, 0) + value
    rows: list[tuple[str, str, int]] = []
    for group, heading in GROUPS.items():
        members = [reason for reason in DELAY_REASONS if reason.group == group]
        rows.append((heading, "", sum(by_reason.get(reason.code, 0) for reason in members)))
        rows.extend(
            (heading, reason.text, by_reason[reason.code])
            for reason in members
            if by_reason.get(reason.code)
        )
    known = {reason.code for reason in DELAY_REASONS}
    rows.append(("", NO_REASON, sum(v for code, v in by_reason.items() if code not in known)))
    rows.append(("Total", "", sum(by_reason.values())))
    return Table(
        "weekly_groups",
        f"Weekly snapshot at the end of {day:%a %d %b %Y}: length of stay 7+ days, no longer "
        "meeting the criteria to reside, by delay reason heading",
        ("Heading", "Delay reason", "Patients"),
        tuple(rows),
        note="A heading's first row is its total; reasons with nobody are left out.",
    )


DELAYED_DAYS = "Delayed bed days in the month"
DAILY_AVERAGE = (
    "Daily average of patients remaining in hospital who no longer meet the criteria to reside"
)


def delayed_days_table(summary: Summary, day: date, locality: str | None) -> Table:
    """The month so far: each day's patients remaining in hospital who no longer meet the
    criteria to reside (the daily item 1c), summed, and their average per day."""
    first = day.replace(day=1)
    days = [date.fromordinal(n) for n in range(first.toordinal(), day.toordinal() + 1)]
    total = sum(sum(summary.level_at("nctr", d, locality=locality).values()) for d in days)
    return Table(
        "monthly_delays",
        f"Delayed bed days, {first:%d %b} to {day:%d %b %Y}",
        ("Measure", "Value"),
        ((DELAYED_DAYS, total), (DAILY_AVERAGE, round(total / len(days), 1))),
        note="A delayed bed day is a patient remaining in hospital at the end of a day, no longer "
        "meeting the criteria to reside.",
    )
