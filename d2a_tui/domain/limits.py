"""Field limits every stored event must meet, wherever it was made.

The replica checks them at the keyboard and the server checks them on ingest, from this one
module, so the two cannot drift: a change a replica accepts is a change the server accepts.
They guard what the database and the people reading the board can take: text no longer than its
column, no NUL or control characters (PostgreSQL refuses NUL outright; a terminal interprets the
others), no lone surrogates (not encodable as UTF-8), dates and times within a hospital's lifetime,
and time-zone offsets that exist on Earth.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.domain.errors import InvalidInput

MAX_NOTE_LENGTH = 4000
MIN_YEAR = 1880  # the oldest date of birth a hub will meet
MAX_YEAR = 2100
# When a change was made: no earlier than the product, no later than the receiver's clock plus
# the drift a thin client's clock may have. Devices have been seen days ahead; the figures count
# such a change when the server received it, so a week of drift is let through and a referral
# "made" in 2099 is not.
MIN_OCCURRED_YEAR = 2000
MAX_CLOCK_SKEW = timedelta(days=7)
MAX_OFFSET = timedelta(hours=14)  # UTC+14 (Kiribati) and UTC-12 are the extremes in use

# Longest text per payload key (`previous_ward` is held to `ward`'s limit); the column sizes in
# storage/models.py are at least these.
MAX_LENGTH: dict[str, int] = {
    "ward": 64,
    "bed": 32,
    "name": 100,
    "locality": 64,
    "nhs_number": 10,
    "text": MAX_NOTE_LENGTH,
    "reason": 500,
    "code": 16,
    "to": 64,
    "from": 32,
    "column": 32,
    "pathway": 4,
    "outcome": 32,
    "destination": 32,
    "id": 36,
    "note_event_id": 36,
    "undoes": 36,
    "actor": 64,
    "note": 1000,  # a capacity report's note
}
MAX_PLACES = 100_000  # beds, hours or packages one service reports: more is a typing slip
DEFAULT_MAX_LENGTH = 200
MULTILINE_KEYS = frozenset({"text", "reason"})

# C0 and C1 controls, DEL, and lone surrogates; notes and reasons may hold newlines and tabs.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class FieldRejected(InvalidInput):
    """A value outside the limits; `reason` is the machine-readable code the API answers with."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def _base_key(key: str) -> str:
    return key.removeprefix("previous_")


def check_text(key: str, value: str, what: str | None = None) -> None:
    label = what or key.replace("_", " ")
    limit = MAX_LENGTH.get(_base_key(key), DEFAULT_MAX_LENGTH)
    if len(value) > limit:
        raise FieldRejected(
            "too_long", f"{label} is at most {limit} characters, this one has {len(value)}"
        )
    pattern = _FORBIDDEN_MULTILINE if _base_key(key) in MULTILINE_KEYS else _FORBIDDEN
    if pattern.search(value):
        raise FieldRejected(
            "control_characters", f"{label} holds a control character or NUL: retype it"
        )


def check_payload(payload: Any, key: str = "payload") -> None:
    """Every string in an event's payload, however deeply nested, within its key's limits.

    Written for speed as well as clarity: the seed checks a few million events with it. Key names
    are not checked: the domain's commands write them, and refuse arguments they do not know."""
    kind = type(payload)
    if kind is str:
        check_text(key, payload)
    elif kind is dict:
        for name, value in payload.items():
            value_kind = type(value)
            if value_kind is str:
                base = name.removeprefix("previous_")
                if len(value) > MAX_LENGTH.get(base, DEFAULT_MAX_LENGTH) or (
                    _FORBIDDEN_MULTILINE if base in MULTILINE_KEYS else _FORBIDDEN
                ).search(value):
                    check_text(name, value)  # raises, with the message
            elif value is not None and value_kind is not bool and value_kind is not int:
                check_payload(value, name)
    elif kind is list or kind is tuple:
        for value in payload:
            check_payload(value, key)
    elif payload is not None and kind is not bool and kind is not int and kind is not float:
        raise FieldRejected("bad_field", f"{key} has a value of an unknown type")


def check_places(**figures: int) -> None:
    for name, value in figures.items():
        if isinstance(value, int) and value > MAX_PLACES:
            raise FieldRejected("too_large", f"{name} is at most {MAX_PLACES:,}, got {value:,}")


def check_date(value: date, what: str) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise FieldRejected(
            "date_out_of_range",
            f"{what} {value.isoformat()} is not between {MIN_YEAR} and {MAX_YEAR}",
        )
    return value


def check_offset(value: datetime, what: str) -> None:
    offset = value.utcoffset()
    if offset is None:
        raise FieldRejected("bad_timestamp", f"{what} has no time-zone offset")
    if abs(offset) > MAX_OFFSET or offset % timedelta(minutes=1):
        raise FieldRejected("bad_timestamp", f"{what} has an offset no time zone uses ({offset})")


def check_occurred_at(value: datetime, now: datetime | None = None) -> None:
    """When a change was made: a real offset, a plausible year, and not in the future (beyond
    the clock drift a device may have) of the clock that receives it."""
    check_offset(value, "the change's time")
    # Compare the naive local reading first: converting year 1 or 9999 to UTC can overflow.
    if not MIN_OCCURRED_YEAR <= value.year <= MAX_YEAR:
        raise FieldRejected(
            "bad_timestamp", f"the change's time {value.isoformat()} is not a plausible year"
        )
    if now is not None and value > now + MAX_CLOCK_SKEW:
        raise FieldRejected(
            "future_timestamp",
            f"the change's time {value.isoformat()} is in the future: check the device's clock",
        )


def check_event_fields(
    payload: dict[str, Any], actor: str, occurred_at: datetime, now: datetime | None
) -> None:
    """The limits for one event: who made it, when, and every text in its payload."""
    check_text("actor", actor, "the user id")
    check_occurred_at(occurred_at, now)
    check_payload(payload)
