"""Runs of hub days. Which day an instant falls on is the hub's calendar's business
(`d2a_tui.domain.calendar.HubCalendar`, from the settings), never this module's."""

from __future__ import annotations

from datetime import date, timedelta


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
