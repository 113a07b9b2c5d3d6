"""The events a handover reports, read through the (kind, recorded_at) index.

A handover asks "what happened between 20:00 and now": one index range per event kind, so the
cost follows the night's changes, not the size of the log. "Happened" is what the hub recorded in
that time (`recorded_at`, the receiving clock), not the time a device claimed (`occurred_at`,
shown beside each change): a device 5 h fast would drop its 06:00 discharge from the 08:00
handover, and one 30 h slow would put its change before any handover that could show it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from d2a_tui.domain.events import Event
from d2a_tui.domain.views import Card
from d2a_tui.storage.journeys import JourneyStore, event_from_row, event_table, journey_table

HANDOVER_KINDS = ("referred", "moved", "closed", "reopened", "delay_set", "note_added")
_CHUNK = 500  # journey ids per IN (...) list, well inside every backend's parameter limit


def events_between(
    store: JourneyStore, since: datetime, until: datetime
) -> tuple[list[Event], dict[str, Card]]:
    """The handover's events in time order, and the journeys they belong to as they are now."""
    query = (
        select(event_table)
        .where(
            event_table.c.kind.in_(HANDOVER_KINDS),
            event_table.c.recorded_at >= since,
            event_table.c.recorded_at <= until,
        )
        .order_by(event_table.c.occurred_at, event_table.c.position)
    )
    with store._read() as connection:  # the store's one translation of database errors
        events = [event_from_row(row) for row in connection.execute(query)]
    ids = sorted({event.journey_id for event in events})
    cards: dict[str, Card] = {}
    for start in range(0, len(ids), _CHUNK):
        for card in store._cards([journey_table.c.id.in_(ids[start : start + _CHUNK])]):
            cards[card.journey_id] = card
    if store.localities is not None:  # a user's localities: nothing of another's journeys
        events = [event for event in events if event.journey_id in cards]
    return events, cards
