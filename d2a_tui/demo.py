"""The demo hub: kept between runs, so a second `make demo` opens the work done in the first.

Only a demo database is ever kept this way: one that carries the synthetic-data organisation
the seed writes. Anything else at the demo's path is seeded over, as before.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from d2a_tui.domain.errors import D2AError
from d2a_tui.seed import SYNTHETIC_ORGANISATION
from d2a_tui.storage.db import SCHEMA_HEAD, current_revision, make_engine, normalise_url
from d2a_tui.storage.journeys import journey_table
from d2a_tui.storage.models import Organisation


def existing_demo(url: str) -> str | None:
    """"N journeys, M open" if `url` is a usable demo hub of this schema, else None."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file() or path.stat().st_size == 0:
            return None
    engine = make_engine(url)
    try:
        if current_revision(engine) != SCHEMA_HEAD:
            return None  # an older demo: seeding it again is simpler than upgrading it
        organisation = Organisation.__table__  # type: ignore[attr-defined]
        with engine.connect() as connection:
            synthetic = connection.execute(
                select(func.count())
                .select_from(organisation)
                .where(organisation.c.id == SYNTHETIC_ORGANISATION)
            ).scalar_one()
            if not synthetic:
                return None
            journeys = connection.execute(
                select(func.count()).select_from(journey_table)
            ).scalar_one()
            still_open = connection.execute(
                select(func.count()).select_from(journey_table).where(
                    journey_table.c.closed_at.is_(None)
                )
            ).scalar_one()
    except (D2AError, SQLAlchemyError):
        return None
    finally:
        engine.dispose()
    if not journeys:
        return None
    return f"{journeys:,} journeys, {still_open:,} open"
