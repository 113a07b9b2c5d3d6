"""One reading of a typed date for the board and the command line (`calendar.parse_day`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.calendar import HubCalendar, parse_day
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.screens.pickers import parse_user_date

TODAY = date(2026, 11, 24)
# 23:30 UTC on the 23rd is 23:30 GMT: still the 23rd in London. 23:30 UTC on 1 June is 00:30 BST
# on the 2nd: "today" there is the 2nd.
LATE_NOVEMBER = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
LATE_MAY = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_every_written_form_of_a_day_reads_back_as_that_day_on_board_and_cli(day: date) -> None:
    cli = HubCalendar()
    for typed in (day.isoformat(), day.strftime("%d/%m/%Y"), day.strftime("%d.%m.%Y")):
        assert parse_day(typed, TODAY) == day
        assert parse_user_date(typed, TODAY) == day
        assert cli.parse_date(typed, now=LATE_NOVEMBER) == day


def test_today_and_yesterday_are_the_hubs_days() -> None:
    london = HubCalendar()
    assert london.parse_date("today", now=LATE_NOVEMBER) == date(2026, 11, 23)
    assert london.parse_date("today", now=LATE_MAY) == date(2026, 6, 2)
    assert london.parse_date("Yesterday", now=LATE_MAY) == date(2026, 6, 1)
    assert parse_user_date("t", TODAY) == TODAY and parse_user_date("y", TODAY) == date(
        2026, 11, 23
    )
    # Two-digit years: the nearest year not after this one.
    assert parse_day("23/11/26", TODAY) == date(2026, 11, 23)
    assert parse_day("01/02/41", TODAY) == date(1941, 2, 1)


@pytest.mark.parametrize("typed", ["31/02/2026", "tomorrow-ish", "2026/13/01", "1/1", "٢٠٢٦-١١-٢٤"])
def test_what_is_not_a_date_is_refused_the_same_way_everywhere(typed: str) -> None:
    with pytest.raises(InvalidInput, match="is not a date"):
        parse_day(typed, TODAY)
    with pytest.raises(InvalidInput, match="is not a date"):
        parse_user_date(typed, TODAY)
    assert parse_user_date("  ", TODAY) is None
