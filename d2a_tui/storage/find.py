"""Find anyone, open or closed: by NHS number, journey id, name or ward.

The board only ever reads open journeys; a find reads every journey a hub has had. An NHS number
is looked up through the patient table's unique index and a journey id through the primary key
(a range on the id, which both backends answer from the index, unlike LIKE on SQLite). A name
is matched against the patient table alone, which is a tenth the width of the journey table, and
a patient's journeys are then reached through the `journey.patient_id` index.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.views import Card
from d2a_tui.storage.journeys import (
    _CARD_COLUMNS,
    JourneyStore,
    card_from_row,
    journey_table,
    patient_table,
)

MAX_TEXT = 100
_ID_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{3,35}$")


def nhs_digits(text: str) -> str | None:
    """Ten digits however they were typed ("943 476 5919", "943-476-5919"), else None."""
    digits = re.sub(r"[\s-]", "", text)
    return digits if len(digits) == 10 and digits.isascii() and digits.isdigit() else None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _id_range(prefix: str) -> Any:
    # id >= prefix AND id < prefix-with-its-last-character-bumped: an index range on any backend.
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (journey_table.c.id >= prefix) & (journey_table.c.id < upper)


def find_cards(store: JourneyStore, text: str, limit: int = 50) -> list[Card]:
    """Journeys, open and closed, matching `text`: open ones first, then the latest referred."""
    wanted = " ".join(text.split())
    if not wanted:
        raise InvalidInput("type a name, an NHS number, a journey id or a ward to find")
    if len(wanted) > MAX_TEXT:
        raise InvalidInput(f"a search is at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in wanted):
        raise InvalidInput("a search cannot hold control characters")
    lowered = wanted.lower()
    digits = nhs_digits(wanted)
    by_id: Any = None
    if digits is not None:
        conditions: list[Any] = [patient_table.c.nhs_number == digits]
    else:
        # One indexed lookup each, merged below: an OR of them would make the database scan.
        name = patient_table.c.name
        pattern = f"%{_like_escape(wanted)}%"
        sqlite = store.engine.dialect.name == "sqlite"  # its LIKE ignores case already
        matches = name.like(pattern, escape="\\") if sqlite else name.ilike(pattern, escape="\\")
        conditions = [
            journey_table.c.patient_id.in_(select(patient_table.c.id).where(matches)),
            func.lower(journey_table.c.ward) == lowered,
        ]
        if _ID_PREFIX.match(lowered):
            by_id = _id_range(lowered)
            conditions.insert(0, by_id)
    order = (
        journey_table.c.closed_at.is_not(None),  # open first (False sorts before True)
        journey_table.c.referred_at.desc(),
        journey_table.c.id,
    )
    found: dict[str, Card] = {}
    with store._read() as connection:  # the store's one translation of database errors
        for condition in conditions:
            query = (
                select(*_CARD_COLUMNS)
                .join(patient_table, patient_table.c.id == journey_table.c.patient_id)
                .where(condition, *store.in_scope())
                .order_by(*order)
                .limit(limit)
            )
            for row in connection.execute(query):
                card = card_from_row(row)
                found.setdefault(card.journey_id, card)
            if found and condition is by_id and len(lowered) >= 8:
                break  # eight characters of a journey id that exist: that journey, nobody else
    cards = sorted(
        found.values(),
        key=lambda c: (c.closed_at is not None, -c.referred_at.timestamp(), c.journey_id),
    )
    return cards[:limit]
