"""The hub's calendar: local days across midnight and the clock changes, and typed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import InvalidInput

LONDON = HubCalendar("Europe/London")


def test_half_past_midnight_in_summer_is_already_the_next_local_day() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    assert LONDON.day(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == date(2026, 7, 1)
    # In winter UTC and London agree.
    assert LONDON.day(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 12, 31)


def test_the_autumn_clock_change_day_lasts_25_hours() -> None:
    # 25 Oct 2026: BST ends at 02:00 BST = 01:00 UTC. The day starts 23:00 UTC on the 24th and
    # ends at 00:00 UTC on the 26th.
    day = date(2026, 10, 25)
    assert LONDON.start_of_day(day) == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert LONDON.end_of_day(day) == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert (LONDON.end_of_day(day) - LONDON.start_of_day(day)).total_seconds() == 25 * 3600


def test_days_since_counts_local_days() -> None:
    # Ready on 1 July; at 00:30 BST on 2 July (23:30 UTC on 1 July) that is one day, not zero.
    assert LONDON.days_since(date(2026, 7, 1), datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == 1


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("today", date(2026, 7, 2)),
        ("Yesterday", date(2026, 7, 1)),
        ("2026-11-24", date(2026, 11, 24)),
        ("24/11/2026", date(2026, 11, 24)),
        ("4/3/2026", date(2026, 3, 4)),
    ],
)
def test_typed_dates(typed: str, expected: date) -> None:
    now = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 BST on 2 July
    assert LONDON.parse_date(typed, now=now) == expected


@pytest.mark.parametrize("typed", ["31/02/2026", "tomorrow-ish", "2026-13-01", ""])
def test_a_bad_date_says_what_to_type(typed: str) -> None:
    with pytest.raises(InvalidInput, match="DD/MM/YYYY"):
        LONDON.parse_date(typed, now=datetime(2026, 7, 1, tzinfo=UTC))


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        HubCalendar("Mars/Olympus")
