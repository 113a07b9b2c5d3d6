"""Find results in words: what `d2a find` prints and the find screen lists (no Textual here).

A result says whether the journey is open or closed, where it is (its column) or how it ended
(its outcome), and its dates, in the hub's calendar.
"""

from __future__ import annotations

from typing import Any

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.nhs_number import format_nhs_number
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.domain.views import Card

WIDTH = 80


def status(card: Card) -> str:
    return "open" if card.closed_at is None else "closed"


def where(card: Card, flow: Flow) -> str:
    """The column of an open journey; the outcome of a closed one."""
    if card.closed_at is not None:
        return OUTCOMES.get(card.outcome or "", card.outcome or "closed")
    try:
        return flow.column(card.column).name
    except D2AError:
        return card.column


def dates(card: Card, calendar: HubCalendar) -> str:
    def day(moment: Any) -> str:
        return calendar.day(moment).strftime("%d %b %Y")

    parts = [f"referred {day(card.referred_at)}"]
    if card.closed_at is None:
        parts.append(f"in column since {day(card.entered_column_at)}")
    elif card.discharged_at is not None and day(card.discharged_at) == day(card.closed_at):
        parts.append(f"discharged and closed {day(card.closed_at)}")
    else:
        if card.discharged_at is not None:
            parts.append(f"discharged {day(card.discharged_at)}")
        parts.append(f"closed {day(card.closed_at)}")
    return " · ".join(parts)


def place(card: Card) -> str:
    return "/".join(part for part in (card.ward, card.bed) if part) or "no ward"


def identity(card: Card, initials: bool = False) -> tuple[str, str]:
    """Name and NHS number, or with the privacy setting `initials` what the board shows."""
    if initials:
        return card.initials, f"…{card.nhs_number[-4:]}"
    return card.name, format_nhs_number(card.nhs_number)


def lines(
    card: Card, flow: Flow, calendar: HubCalendar, *, initials: bool = False
) -> tuple[str, str]:
    """Two lines of at most 80 characters: who and where, then the ward and dates."""
    name, nhs = identity(card, initials)
    first = (
        f"{card.short_id}  {status(card):<6}  {where(card, flow)[:22]:<22}  {name[:22]:<22}  {nhs}"
    )
    second = f"{'':10}{place(card)} · {dates(card, calendar)}"
    return first[:WIDTH].rstrip(), second[:WIDTH].rstrip()


def to_json(card: Card, flow: Flow) -> dict[str, Any]:
    return {
        "id": card.journey_id,
        "status": status(card),
        "column": card.column,
        "where": where(card, flow),
        "outcome": card.outcome,
        "nhs_number": card.nhs_number,
        "name": card.name,
        "date_of_birth": card.date_of_birth,
        "ward": card.ward,
        "bed": card.bed,
        "referred_at": card.referred_at,
        "entered_column_at": card.entered_column_at,
        "discharged_at": card.discharged_at,
        "closed_at": card.closed_at,
        "version": card.version,
    }
