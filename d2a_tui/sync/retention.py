"""What a replica keeps: open journeys, and closed ones for a few days; the rest is deleted here.

Days are the hub's calendar days, as scope counts them (`domain/scope.py`: a provider keeps an
accepted journey until 14 days after the day it closed): a journey closed on 23 November is
kept through 7 December whatever the hour, and goes at the first sync on the 8th. Counting in
instants instead would purge it on the evening of the 7th, while the server still sends it.

A lost laptop should carry the people the night team is working with, not the hub's history.
The purge is local only: the server keeps everything (it is the record) and is never told. A
journey is kept while anything of it is still on its way (a change not sent or not confirmed,
a conflict not decided). A purged journey that comes back (reopened on the server) has events
this replica lacks the start of, so the next pull fetches it whole, as for any journey outside
the first snapshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, exists, not_, or_, select

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.storage.event_log import EventLog
from d2a_tui.storage.journeys import journey_table
from d2a_tui.sync.conflict_views import conflict_table
from d2a_tui.sync.rebuild import outbox_table

KEEP_CLOSED_DAYS = 14


def purge(engine: Engine, now: datetime, keep_days: int, calendar: HubCalendar) -> int:
    """The purge in its own transaction, under the event log's lock like a pull."""
    with engine.begin() as connection:
        EventLog(connection).lock()
        return purge_closed(connection, now, keep_days, calendar)


def purge_closed(
    connection: Connection, now: datetime, keep_days: int, calendar: HubCalendar
) -> int:
    """Delete journeys closed more than `keep_days` hub days before today, with their events,
    their settled outbox rows and decided conflicts, and patients left with no journey; how
    many journeys. The caller holds the event log's lock (the purge must not meet a pull
    half-way)."""
    # Kept while today <= the closing day + keep_days: closed before this instant is gone.
    cutoff = calendar.start_of_day(calendar.day(now) - timedelta(days=keep_days))
    # On its way: not yet answered, or applied and not yet seen back from the server. A change
    # answered conflict, merged or rejected is settled (it is never "confirmed": no event of it
    # will come back); if it is not decided yet, its conflict row keeps the journey below.
    in_flight = exists().where(
        outbox_table.c.journey_id == journey_table.c.id,
        or_(
            outbox_table.c.status == "pending",
            and_(outbox_table.c.status == "applied", not_(outbox_table.c.confirmed)),
        ),
    )
    undecided = exists().where(
        conflict_table.c.journey_id == journey_table.c.id, conflict_table.c.resolved_at.is_(None)
    )
    gone = list(
        connection.execute(
            select(journey_table.c.id).where(
                and_(
                    journey_table.c.closed_at.is_not(None),
                    journey_table.c.closed_at < cutoff,
                    not_(in_flight),
                    not_(undecided),
                )
            )
        ).scalars()
    )
    log = EventLog(connection)
    for start in range(0, len(gone), 500):  # SQLite's limit on bound parameters
        chunk = gone[start : start + 500]
        # Settled outbox rows and decided conflicts quote the patient's details too.
        connection.execute(delete(outbox_table).where(outbox_table.c.journey_id.in_(chunk)))
        connection.execute(delete(conflict_table).where(conflict_table.c.journey_id.in_(chunk)))
        log.forget_journeys(chunk)
    return len(gone)
