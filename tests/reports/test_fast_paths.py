"""The reports' fast paths give what the slow, obvious way gives.

For speed (bench/reports.py), the operational dashboard reads a few columns of the open journeys
instead of full board cards, and demand counts people awaiting in the database. Both are checked
here against the board's own cards, on the hand-built scenario and on ten seeded days (hundreds of
open journeys in every column), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from d2a_tui.domain.calendar import LONDON
from d2a_tui.seed import seed_database
from d2a_tui.services.hub import Hub
from d2a_tui.storage.db import make_engine
from tests.reports.conftest import Scenario

SEED_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(database_url: str, make_hub: Callable[..., Hub]) -> Hub:
    seed_database(database_url, profile="locality", days=10, now=SEED_NOW, processes=1)
    hub = make_hub()
    hub.clock = lambda: SEED_NOW
    return hub


def operational_from_cards(hub: Hub, oldest: int = 10) -> dict[str, object]:
    """The operational figures worked out the obvious way: every board card, `Hub.stuck`."""
    now = hub.clock()
    today = LONDON.day(now)
    columns: dict[str, list[int]] = {c.id: [0, 0, 0] for c in hub.flow.open_columns}
    nctr: dict[str, int] = {}
    waits = []
    for card in hub.store.open_cards():
        column = hub.flow.column(card.column)
        level = hub.stuck(card, now).level.label
        bucket = columns.setdefault(card.column, [0, 0, 0])
        bucket[0] += 1
        bucket[1] += level == "amber"
        bucket[2] += level == "red"
        days_ready = None
        if column.in_hospital and card.discharge_ready_date is not None:
            days_ready = (today - card.discharge_ready_date).days
            if days_ready >= 0:
                nctr[card.pathway or ""] = nctr.get(card.pathway or "", 0) + 1
        if column.in_hospital:
            waited = (now - card.entered_column_at).total_seconds()
            key = (days_ready if days_ready is not None else -1, waited)
            waits.append((key, card.journey_id, card.name, days_ready, card.delay_reason))
    waits.sort(key=lambda item: item[0], reverse=True)
    return {
        "columns": {cid: tuple(values) for cid, values in columns.items()},
        "nctr": nctr,
        "oldest": [w[0] for w in waits[:oldest]],
        "oldest_people": {w[1]: (w[2], w[3], w[4]) for w in waits[:oldest]},
    }


def operational_now(hub: Hub, oldest: int = 10) -> dict[str, object]:
    figures = hub.reports.operational(oldest)
    now = figures.at
    return {
        "columns": {c.column: (c.total, c.amber, c.red) for c in figures.columns},
        "nctr": figures.nctr,
        # Ties (same days ready, same time in column) may come in either order: compare keys.
        "oldest": [
            (w.days_ready if w.days_ready is not None else -1, w.waited.total_seconds())
            for w in figures.oldest
        ],
        "oldest_people": {
            w.journey_id: (w.who, w.days_ready, w.delay_reason) for w in figures.oldest
        },
        "at": now,
    }


def check_operational(hub: Hub) -> None:
    expected, got = operational_from_cards(hub), operational_now(hub)
    assert got["columns"] == expected["columns"]
    assert got["nctr"] == expected["nctr"]
    assert got["oldest"] == expected["oldest"]
    if len(set(expected["oldest"])) == len(expected["oldest"]):  # type: ignore[arg-type]
        assert got["oldest_people"] == expected["oldest_people"]


def awaiting_from_cards(hub: Hub) -> dict[str, int]:
    counts: dict[str, int] = {}
    for card in hub.store.open_cards():
        if card.pathway and hub.flow.column(card.column).in_hospital:
            counts[card.pathway] = counts.get(card.pathway, 0) + 1
    return counts


def test_operational_dashboard_agrees_with_the_board_cards_on_the_scenario(
    scenario: Scenario,
) -> None:
    check_operational(scenario.hub)
    scenario.clock.advance(days=3)  # later, more are amber and red
    check_operational(scenario.hub)


def test_operational_dashboard_and_demand_agree_with_the_board_cards_on_seeded_days(
    seeded: Hub,
) -> None:
    assert sum(c.total for c in seeded.reports.operational().columns) > 100
    check_operational(seeded)
    assert seeded.capacity.awaiting_now() == awaiting_from_cards(seeded)
    assert sum(awaiting_from_cards(seeded).values()) > 0


def test_people_awaiting_are_counted_as_the_board_shows_them(scenario: Scenario) -> None:
    hub = scenario.hub
    assert hub.capacity.awaiting_now() == awaiting_from_cards(hub)
    hub.close_journey(scenario.ids["B"], "home_independent", destination="P0_HOME")
    assert hub.capacity.awaiting_now() == awaiting_from_cards(hub)


def test_summary_reads_are_index_only_on_sqlite(sqlite_url: str) -> None:
    """The covering indexes: a report's read never visits the table itself. Across localities it
    reads migration 0005's (the day first); for one locality, 0014's (the locality first), which
    reads only that locality's rows in a database many localities share."""
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        plans = [
            " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            for sql in (
                "SELECT pathway, key, sum(value) FROM report_daily "
                "WHERE metric = 'nctr' AND day <= '2026-11-23' GROUP BY pathway, key",
                "SELECT day, pathway, sum(value) FROM report_daily WHERE metric = 'discharges' "
                "AND day >= '2026-10-25' AND day <= '2026-11-23' AND locality = 'X' "
                "GROUP BY day, pathway",
            )
        ]
    engine.dispose()
    across, one_locality = plans
    assert "COVERING INDEX ix_report_daily_metric_day_value" in across, across
    assert "COVERING INDEX ix_report_daily_metric_locality_day" in one_locality, one_locality
