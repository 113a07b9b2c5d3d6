"""Hub days. The sitrep counts by the hub's local calendar day (England), while the log stores UTC:
a discharge at 00:30 BST on 1 June is a June discharge even though it is 31 May in UTC."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from d2a_tui.domain.errors import InvalidInput

DEFAULT_TIMEZONE = "Europe/London"


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r} in D2A_TIMEZONE") from None


def hub_zone() -> ZoneInfo:
    return _zone(os.environ.get("D2A_TIMEZONE") or DEFAULT_TIMEZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(hub_zone()).date()


def end_of_day(day: date) -> datetime:
    """The first instant after `day` ends, in UTC: "as at the end of D" means before this."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=hub_zone()).astimezone(UTC)


def parse_day(value: str | date | None, what: str = "date", *, today: date | None = None) -> date:
    """A date the user typed: YYYY-MM-DD, or today / yesterday."""
    if isinstance(value, date):
        return value
    text = (value or "").strip().lower()
    if today is not None and text in ("", "today"):
        return today
    if today is not None and text == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a date: use YYYY-MM-DD") from None


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
