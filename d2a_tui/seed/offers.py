"""Synthetic hand-offs for a seeded hub, so the board and the provider board show some.

For a few people awaiting each pathway in each locality, the hub offered them to one of that
locality's services on the pathway within the last hours: some offers still wait (a few past
the amber and red clock), some were accepted with a start date, one or two declined. Written
through the journey commands (`UnitOfWork.execute`), so the events pass the same rules and the
one writer as any other offer.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import uuid7
from d2a_tui.storage.journeys import Actor, JourneyStore, journey_table, patient_table
from d2a_tui.storage.models import Service, table_of

services_table = table_of(Service)
PER_LOCALITY_AND_PATHWAY = 4  # a handful each: enough to see, cheap for a region


def seed_offers(engine: Engine, flow: Flow, *, now: datetime, seed: int) -> int:
    """Offers for people awaiting P1-P3; returns how many were made."""
    rng = random.Random(f"{seed}-offers")
    awaiting = [
        c.id for c in flow.open_columns if c.in_hospital and c.pathway in ("P1", "P2", "P3")
    ]
    with engine.connect() as connection:
        people = connection.execute(
            select(
                journey_table.c.id,
                journey_table.c.pathway,
                journey_table.c.entered_column_at,
                patient_table.c.locality,
            )
            .join(patient_table, patient_table.c.id == journey_table.c.patient_id)
            .where(journey_table.c.column_id.in_(awaiting), journey_table.c.closed_at.is_(None))
            .order_by(journey_table.c.entered_column_at, journey_table.c.id)
        ).all()
        offered_to: dict[tuple[str | None, str], list[str]] = {}
        for row in connection.execute(
            select(services_table.c.id, services_table.c.locality, services_table.c.pathway)
            .where(services_table.c.active.is_(True))
            .order_by(services_table.c.id)
        ):
            offered_to.setdefault((row.locality, row.pathway), []).append(row.id)
    store = JourneyStore(engine, flow)
    actor = Actor("hub.coordinator", "seed-offers")

    def run(command: str, args: dict[str, Any], journey_id: str, at: datetime) -> str:
        # Event ids from the seed too, so a seeded hub is the same every time (its snapshots).
        event_id = uuid7(int(at.timestamp() * 1000), rng)
        with store.unit_of_work() as work:
            work.execute(command, args, actor, at, journey_id=journey_id, event_id=event_id)
        return event_id

    made = 0
    counts: dict[tuple[str | None, str], int] = {}
    for person in people:
        key = (person.locality, person.pathway)
        choices = offered_to.get(key)
        if not choices or counts.get(key, 0) >= PER_LOCALITY_AND_PATHWAY:
            continue
        counts[key] = counts.get(key, 0) + 1
        waited = timedelta(minutes=rng.randint(20, 360))
        at = max(now - waited, person.entered_column_at + timedelta(minutes=5))
        if at >= now:
            continue
        try:
            offer_id = run("offer", {"service_id": rng.choice(choices)}, person.id, at)
            made += 1
            fate = rng.random()
            answered = at + timedelta(minutes=rng.randint(10, 120))
            if fate < 0.35 and answered < now:
                start = store.calendar.day(answered) + timedelta(days=rng.randint(1, 4))
                args = {"offer_id": offer_id, "start": start.isoformat()}
                run("accept_offer", args, person.id, answered)
            elif fate < 0.45 and answered < now:
                reason = rng.choice(("no_capacity", "cannot_meet_needs", "out_of_area"))
                run("decline_offer", {"offer_id": offer_id, "reason": reason}, person.id, answered)
        except D2AError:
            continue  # a person the rules would not offer (no pathway yet): pass over
    return made
