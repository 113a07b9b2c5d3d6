"""The journeys open now, as the operational dashboard needs them: a few columns each.

The dashboard counts every open journey by column and stuck level and lists the ten oldest
waits. Loading full board cards for that (patient details, every timestamp) costs ~190 ms on a
region of ~5,000 open journeys, most of it building the cards in Python; these seven columns cost
a fraction of it. Names are read only for the few waits shown: the minimum necessary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select

from d2a_tui.reports.summary import translated
from d2a_tui.storage.models import Journey, Patient, table_of

journeys = table_of(Journey)
patients = table_of(Patient)


@dataclass(frozen=True, slots=True)
class OpenJourney:
    journey_id: str
    column: str
    pathway: str | None
    admitted_on: date | None
    entered_column_at: datetime
    discharge_ready_date: date | None
    delay_reason: str | None


def open_journeys(engine: Engine) -> list[OpenJourney]:
    """Every open journey, longest in its column first (the board's order)."""
    query = (
        select(
            journeys.c.id,
            journeys.c.column_id,
            journeys.c.pathway,
            journeys.c.admitted_on,
            journeys.c.entered_column_at,
            journeys.c.discharge_ready_date,
            journeys.c.delay_reason,
        )
        .where(journeys.c.closed_at.is_(None))
        .order_by(journeys.c.entered_column_at)
    )
    with translated(engine), engine.connect() as connection:
        return [OpenJourney(*row) for row in connection.execute(query)]


def names(engine: Engine, journey_ids: Iterable[str]) -> dict[str, str]:
    """The patient's name for each of a few journeys."""
    wanted = list(journey_ids)
    if not wanted:
        return {}
    query = (
        select(journeys.c.id, patients.c.name)
        .join(patients, patients.c.id == journeys.c.patient_id)
        .where(journeys.c.id.in_(wanted))
    )
    with translated(engine), engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(query)}
