"""The hub's calendar: every "today", day boundary and "days since" in the hub's own time zone.

The log stores UTC instants, but a hub works by its local day: a discharge at 00:30 BST on 1 June
is a June discharge although it is still 31 May in UTC, and a person ready "today" at 00:15 BST is
ready today, not tomorrow. Everything that turns an instant into a day goes through one
`HubCalendar`, so the command checks, stuck levels, alerts, the board and the reports cannot
disagree about which day it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from d2a_tui.domain.errors import InvalidInput

DEFAULT_TIMEZONE = "Europe/London"

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}: use an IANA name such as {DEFAULT_TIMEZONE}"
        ) from None


@dataclass(frozen=True, slots=True)
class HubCalendar:
    """Days as the hub counts them. `timezone` is an IANA name (the `timezone` setting)."""

    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        _zone(self.timezone)  # refuse an unknown zone when the setting is read, not on first use

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def day(self, moment: datetime) -> date:
        """The hub-local calendar day an instant falls on."""
        return moment.astimezone(self.zone).date()

    def start_of_day(self, day: date) -> datetime:
        """The first instant of `day`, in UTC (23 or 25 hours before the next on a clock change)."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def end_of_day(self, day: date) -> datetime:
        """The first instant after `day` ends, in UTC: "as at the end of D" means before this."""
        return self.start_of_day(day + timedelta(days=1))

    def days_since(self, day: date, now: datetime) -> int:
        """Whole hub-local days from `day` to the day `now` falls on: the "DRD+3d" and the length
        of stay, the same number everywhere it is shown or compared with a threshold."""
        return (self.day(now) - day).days

    def parse_date(self, value: str | date | None, what: str = "date", *, now: datetime) -> date:
        """A date a person typed: `today`, `yesterday`, `2026-11-24` or `24/11/2026`."""
        if isinstance(value, date):
            return value
        return parse_day(value or "", self.day(now), what)


def parse_day(text: str, today: date, what: str = "date") -> date:
    """The one reading of a date a person types, on the board and on the command line alike:
    `today` (`t`), `yesterday` (`y`), `2026-11-24`, `24/11/2026` (also `24-11-2026`,
    `24.11.2026`, and `24/11/26` for the nearest such year not after this one)."""
    value = text.strip().lower()
    if value in ("today", "t"):
        return today
    if value in ("yesterday", "y"):
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    match = _DAY_MONTH_YEAR.fullmatch(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
        if year < 100:
            year += 2000 if 2000 + year <= today.year else 1900
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise InvalidInput(
        f"{what} {text!r} is not a date: use today, yesterday, YYYY-MM-DD or DD/MM/YYYY"
    )


LONDON = HubCalendar()
