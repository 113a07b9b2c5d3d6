"""Where flow blocks: moves between columns over a period, as a matrix, with the time spent in
the source column before each move (median and 90th percentile, nearest rank, whole hours up to
two days and whole days beyond, as the fold keeps them).

Computed from the same fold as every other figure, so it is right as now known and as known at
a past moment alike. Undoing a move is itself a move back, as it was on the board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from d2a_tui.domain.flow import Flow
from d2a_tui.reports.period import Spread
from d2a_tui.reports.summary import Summary
from d2a_tui.reports.tables import Table


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    count: int
    median_hours: int | None
    p90_hours: int | None


def transitions(
    summary: Summary, first: date, last: date, locality: str | None
) -> list[Transition]:
    """Every (source, target) pair with at least one move in the period."""
    hours: dict[tuple[str, str], dict[int, int]] = {}
    for (key,), count in summary.counts(
        "moves", first, last, by=("key",), locality=locality
    ).items():
        pair, _, spent = str(key).rpartition(":")
        source, _, target = pair.partition(">")
        bucket = hours.setdefault((source, target), {})
        bucket[int(spent)] = bucket.get(int(spent), 0) + count
    out = []
    for (source, target), histogram in hours.items():
        spread = Spread.of(histogram)
        if spread.count:
            out.append(Transition(source, target, spread.count, spread.median, spread.p90))
    return out


def _order(flow: Flow, found: list[Transition]) -> list[str]:
    known = [column.id for column in flow.columns]
    seen = {t.source for t in found} | {t.target for t in found}
    return known + sorted(seen - set(known))  # columns since removed from the flow file last


def _name(flow: Flow, column_id: str) -> str:
    try:
        return flow.column(column_id).name
    except Exception:  # a column since removed from the flow file
        return column_id


def transition_tables(
    summary: Summary, flow: Flow, first: date, last: date, locality: str | None
) -> tuple[Table, Table]:
    found = transitions(summary, first, last, locality)
    columns = _order(flow, found)
    counts = {(t.source, t.target): t.count for t in found}
    rows = []
    for source in columns:
        values = [counts.get((source, target), 0) for target in columns]
        rows.append((_name(flow, source), *values, sum(values)))
    totals = [sum(counts.get((s, t), 0) for s in columns) for t in columns]
    rows.append(("Total", *totals, sum(totals)))
    matrix = Table(
        "transitions",
        f"Moves between columns, {first:%d %b %Y} to {last:%d %b %Y} (from the row's column "
        "to the heading's)",
        ("From", *(_name(flow, c) for c in columns), "Total"),
        tuple(rows),
    )
    position = {column: index for index, column in enumerate(columns)}
    ordered = sorted(found, key=lambda t: (position[t.source], position[t.target]))
    times = Table(
        "transition_times",
        "Time in the source column before each move (hours; whole days beyond 48 hours)",
        ("From", "To", "Moves", "Median hours", "90th percentile hours"),
        tuple(
            (_name(flow, t.source), _name(flow, t.target), t.count, t.median_hours, t.p90_hours)
            for t in ordered
        ),
    )
    return matrix, times


@dataclass(frozen=True)
class MoveBar:
    label: str
    count: int
    detail: str
    slow: bool  # the 90th percentile wait before the move passes the source column's red time


def busiest(
    flow: Flow, found: tuple[Transition, ...] | list[Transition], limit: int = 12
) -> list[MoveBar]:
    """The busiest moves for the strategic dashboard's chart: where a source column's 90th
    percentile passes its red time, flow is blocking there."""
    out = []
    for move in sorted(found, key=lambda t: (-t.count, t.source, t.target))[:limit]:
        try:
            red = flow.column(move.source).red_after
        except Exception:  # a column since removed from the flow file
            red = None
        slow = bool(
            red and move.p90_hours is not None and move.p90_hours * 3600 >= red.total_seconds()
        )
        label = f"{_name(flow, move.source)} → {_name(flow, move.target)}"
        detail = (
            f"{label}: {move.count} moves; time in {_name(flow, move.source)} before the move: "
            f"median {move.median_hours} h, 90th percentile {move.p90_hours} h"
        )
        out.append(MoveBar(label, move.count, detail, slow))
    return out
