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

from sqlalchemy import func, or_, select

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.storage.journeys import (
    _CARD_COLUMNS,
    JourneyStore,
    card_from_row,
    journey_table,
    patient_table,
)
from d2a_tui.views import Card

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
    lowered = wanted.lower()
    digits = nhs_digits(wanted)
    if digits is not None:
        condition: Any = patient_table.c.nhs_number == digits
    else:
        pattern = f"%{_like_escape(lowered)}%"
        patients = select(patient_table.c.id).where(
            func.lower(patient_table.c.name).like(pattern, escape="\\")
        )
        terms = [
            journey_table.c.patient_id.in_(patients),
            func.lower(journey_table.c.ward) == lowered,
        ]
        if _ID_PREFIX.match(lowered):
            terms.append(_id_range(lowered))
        condition = or_(*terms)
    query = (
        select(*_CARD_COLUMNS)
        .join(patient_table, patient_table.c.id == journey_table.c.patient_id)
        .where(condition)
        .order_by(
            journey_table.c.closed_at.is_not(None),  # open first (False sorts before True)
            journey_table.c.referred_at.desc(),
            journey_table.c.id,
        )
        .limit(limit)
    )
    with store._read() as connection:  # the store's one translation of database errors
        return [card_from_row(row) for row in connection.execute(query)]
