"""The demo hub: kept between runs, so a second `make demo` opens the work done in the first.

`d2a demo` seeds only where there is nothing yet, or over a demo hub when asked (`--fresh`). A
demo hub is a database that carries the synthetic-data organisation the seed writes; anything
else at the path (a real hub's database, another program's file) is never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from d2a_tui.domain.errors import D2AError
from d2a_tui.seed import SYNTHETIC_ORGANISATION
from d2a_tui.storage.db import make_engine, normalise_url
from d2a_tui.storage.journeys import journey_table
from d2a_tui.storage.models import Organisation, table_of

MISSING, DEMO, OTHER = "missing", "demo", "other"


@dataclass(frozen=True, slots=True)
class DemoHub:
    state: str  # MISSING, DEMO or OTHER
    summary: str = ""  # "N journeys, M open" for a demo hub


def inspect_demo(url: str) -> DemoHub:
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            return DemoHub(MISSING)
    try:
        engine = make_engine(url)
    except D2AError:
        return DemoHub(OTHER)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if not tables:
                return DemoHub(MISSING)
            if not {"organisation", "journey"} <= tables:
                return DemoHub(OTHER)
            organisation = table_of(Organisation)
            synthetic = connection.execute(
                select(func.count())
                .select_from(organisation)
                .where(organisation.c.id == SYNTHETIC_ORGANISATION)
            ).scalar_one()
            if not synthetic:
                return DemoHub(OTHER)
            journeys = connection.execute(
                select(func.count()).select_from(journey_table)
            ).scalar_one()
            still_open = connection.execute(
                select(func.count())
                .select_from(journey_table)
                .where(journey_table.c.closed_at.is_(None))
            ).scalar_one()
    except SQLAlchemyError:
        return DemoHub(OTHER)
    finally:
        engine.dispose()
    return DemoHub(DEMO, f"{journeys:,} journeys, {still_open:,} open")
