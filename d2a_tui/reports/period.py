"""Reports over a period: lengths of stay per stage and per pathway, and the daily flow.

Lengths of stay are whole days (the summaries keep a histogram per day of discharge or of the end
of a community stage), so the median, the 90th percentile and the maximum are exact. Percentiles
use the nearest-rank rule: the p-th percentile of n stays is the ceil(p/100 * n)-th smallest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from d2a_tui.domain.flow import PATHWAYS
from d2a_tui.reports.days import days_between
from d2a_tui.reports.sitrep import pathway_label
from d2a_tui.reports.summary import Summary
from d2a_tui.reports.tables import Table

STAGES = (
    ("hospital", "Hospital (admission to discharge)"),
    ("P1", "P1 (home with support)"),
    ("P2", "P2 (short-term bed)"),
    ("P3", "P3 (care home, assessment stage)"),
)


DIED = "Hospital stays that ended in death"


@dataclass(frozen=True)
class Spread:
    count: int
    median: int | None
    p90: int | None
    maximum: int | None

    @classmethod
    def of(cls, histogram: dict[int, int]) -> Spread:
        n = sum(histogram.values())
        if n == 0:
            return cls(0, None, None, None)
        ordered = sorted((days, count) for days, count in histogram.items() if count > 0)

        def rank(p: int) -> int:
            wanted, seen = math.ceil(p * n / 100), 0
            for days, count in ordered:
                seen += count
                if seen >= wanted:
                    return days
            return ordered[-1][0]

        return cls(n, rank(50), rank(90), ordered[-1][0])


def nearest_rank(values: Sequence[float], p: int) -> float | None:
    """The p-th percentile by nearest rank: the ceil(p/100 * n)-th smallest value (a real
    person's value, never an average of two), as every report takes it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1]


def histograms(
    summary: Summary, metric: str, first: date, last: date, locality: str | None
) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    for (pathway, key), value in summary.counts(
        metric, first, last, by=("pathway", "key"), locality=locality
    ).items():
        bucket = out.setdefault(pathway, {})
        bucket[int(key)] = bucket.get(int(key), 0) + value
    return out


def _merge(parts: list[dict[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for part in parts:
        for days, count in part.items():
            merged[days] = merged.get(days, 0) + count
    return merged


def stage_spreads(
    summary: Summary,
    first: date,
    last: date,
    locality: str | None,
    hospital: dict[str, dict[int, int]] | None = None,
) -> dict[str, Spread]:
    if hospital is None:
        hospital = histograms(summary, "los_hospital", first, last, locality)
    stages = histograms(summary, "los_stage", first, last, locality)
    spreads = {"hospital": Spread.of(_merge(list(hospital.values())))}
    for pathway in ("P1", "P2", "P3"):
        spreads[pathway] = Spread.of(stages.get(pathway, {}))
    return spreads


def los_tables(
    summary: Summary, first: date, last: date, locality: str | None
) -> tuple[Table, Table]:
    # The hospital histogram is the biggest of the summaries' reads (a key per day of stay), so
    # it is read once for both tables.
    hospital = histograms(summary, "los_hospital", first, last, locality)
    spreads = stage_spreads(summary, first, last, locality, hospital)
    stage_rows = tuple(
        (label, s.count, s.median, s.p90, s.maximum)
        for (stage, label) in STAGES
        for s in [spreads[stage]]
    )
    died = Spread.of(_merge(list(histograms(summary, "los_death", first, last, locality).values())))
    stage_rows += ((DIED, died.count, died.median, died.p90, died.maximum),)
    stages = Table(
        "los_stages",
        f"Length of stay by stage, stays ended {first:%d %b %Y} to {last:%d %b %Y} (days)",
        ("Stage", "Stays ended", "Median", "90th percentile", "Maximum"),
        stage_rows,
        note="Community stages (P1, P2, P3) count the days on that pathway after discharge. "
        "A stay that ended in death is not a discharge: it has its own row.",
    )
    waits = histograms(summary, "ready_wait", first, last, locality)
    rows = []
    pathways = [*PATHWAYS, *(p for p in sorted(hospital) if p not in PATHWAYS)]
    for pathway in pathways:
        los, wait = Spread.of(hospital.get(pathway, {})), Spread.of(waits.get(pathway, {}))
        rows.append(
            (pathway_label(pathway), los.count, los.median, los.p90, los.maximum,
             wait.median, wait.p90, wait.maximum)
        )  # fmt: skip
    by_pathway = Table(
        "los_pathways",
        "Hospital length of stay and days from discharge-ready to discharge, by pathway",
        ("Pathway", "Discharges", "LoS median", "LoS 90th percentile", "LoS maximum",
         "Ready to discharge median", "Ready to discharge 90th percentile",
         "Ready to discharge maximum"),
        tuple(rows),
    )  # fmt: skip
    return stages, by_pathway


@dataclass(frozen=True)
class FlowDay:
    day: date
    referrals: int
    discharges: dict[str, int]
    nctr: dict[str, int]
    deaths: int = 0


def flow_days(summary: Summary, first: date, last: date, locality: str | None) -> list[FlowDay]:
    referrals = summary.counts("referrals", first, last, by=("day",), locality=locality)
    discharges = summary.counts("discharges", first, last, by=("day", "pathway"), locality=locality)
    nctr = summary.level_series("nctr", first, last, locality=locality)
    by_day: dict[date, dict[str, int]] = {}
    for (day, pathway), value in discharges.items():
        bucket = by_day.setdefault(_day(day), {})
        bucket[pathway] = bucket.get(pathway, 0) + value
    referral_days = {_day(key[0]): value for key, value in referrals.items()}
    deaths: dict[date, int] = {}
    for (day,), value in summary.counts(
        "deaths", first, last, by=("day",), locality=locality
    ).items():
        deaths[_day(day)] = deaths.get(_day(day), 0) + value
    return [
        FlowDay(
            day,
            referral_days.get(day, 0),
            by_day.get(day, {}),
            nctr.get(day, {}),
            deaths.get(day, 0),
        )
        for day in days_between(first, last)
    ]


def flow_table(summary: Summary, first: date, last: date, locality: str | None) -> Table:
    rows = []
    for item in flow_days(summary, first, last, locality):
        rows.append(
            (
                item.day,
                item.referrals,
                *(item.discharges.get(p, 0) for p in PATHWAYS),
                sum(item.discharges.values()),
                *(item.nctr.get(p, 0) for p in PATHWAYS),
                sum(item.nctr.values()),
                item.deaths,
            )
        )
    return Table(
        "flow",
        f"Daily flow, {first:%d %b %Y} to {last:%d %b %Y}",
        ("Date", "Referrals",
         *(f"Discharges {p}" for p in PATHWAYS), "Discharges total",
         *(f"NCTR {p}" for p in PATHWAYS), "NCTR total", "Deaths"),
        tuple(rows),
        note="NCTR: patients remaining in hospital at the end of the day who no longer meet "
        "the criteria to reside (totals include those whose pathway is not yet decided). "
        "Deaths, in hospital or on a pathway, are never discharges.",
    )  # fmt: skip


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
