"""How one journey reads on the board: three short lines per card, and words for its events.

Plain functions over the immutable `Card`, so the column widget can cache what they return and
tests can check the wording without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.events import Event, EventKind
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.timefmt import humanise
from d2a_tui.views import Card

CARD_LINES = 3
CARD_HEIGHT = CARD_LINES + 1  # a blank line between cards keeps them apart without borders

# A shape as well as a colour, so the state reads on monochrome terminals and for colour-blind users.
SYMBOLS: dict[Level, str] = {Level.OK: "○", Level.AMBER: "▲", Level.RED: "■"}
LEVEL_WORDS: dict[Level, str] = {Level.OK: "ok", Level.AMBER: "amber", Level.RED: "red"}


@dataclass(frozen=True, slots=True)
class CardStyles:
    base: Style
    name: Style
    dim: Style
    amber: Style
    red: Style

    def level(self, level: Level) -> Style:
        if level is Level.RED:
            return self.red
        if level is Level.AMBER:
            return self.amber
        return self.dim


def who(card: Card, privacy: str) -> str:
    return card.initials if privacy == "initials" else card.name


def days_since_ready(
    card: Card, now: datetime, calendar: HubCalendar = LONDON
) -> int | None:
    if card.discharge_ready_date is None:
        return None
    return calendar.days_since(card.discharge_ready_date, now)


def _width(parts: list[tuple[str, Style]]) -> int:
    return sum(cell_len(text) for text, _ in parts)


def _line(
    left: list[tuple[str, Style]],
    right: list[tuple[str, Style]],
    width: int,
    *,
    right_first: bool = True,
) -> list[Segment]:
    """Left parts, then right parts flush right, exactly `width` cells.

    With `right_first` the left side is cut short (with …) to keep the right whole; otherwise
    right parts are dropped, last first, until the left side fits.
    """
    if not right_first:
        while right and _width(left) + _width(right) + 1 > width:
            right = right[:-2] if len(right) >= 2 else []
    right_len = _width(right)
    if right_len > width:
        right, right_len = [], 0
    room = width - right_len - (1 if right else 0)
    segments: list[Segment] = []
    used = 0
    for text, style in left:
        if used >= room:
            break
        length = cell_len(text)
        if used + length > room:
            text = set_cell_size(text, room - used - 1) + "…" if room - used > 1 else ""
            length = cell_len(text)
        segments.append(Segment(text, style))
        used += length
    if used < width - right_len:
        segments.append(Segment(" " * (width - right_len - used), left[0][1] if left else None))
    segments.extend(Segment(text, style) for text, style in right)
    return segments


def card_line(
    card: Card,
    sub: int,
    level: Level,
    now: datetime,
    width: int,
    styles: CardStyles,
    privacy: str,
    in_hospital: bool,
) -> list[Segment]:
    """Line `sub` (0..CARD_LINES-1) of a card, exactly `width` cells wide, styles unmixed."""
    gap = (" ", styles.base)
    if sub == 0:
        return _line(
            [
                (" ", styles.base),
                (SYMBOLS[level], styles.level(level)),
                gap,
                (who(card, privacy), styles.name),
            ],
            [(card.nhs_number[-4:], styles.dim), gap],
            width,
        )
    if sub == 1:
        place = "/".join(part for part in (card.ward, card.bed) if part) or "no ward"
        right: list[tuple[str, Style]] = []
        if card.delay_reason:
            right += [(card.delay_reason, styles.base), gap]
        return _line(
            [("   ", styles.base), (place, styles.base), gap, (card.pathway or "P?", styles.dim)],
            right,
            width,
        )
    waited = humanise(now - card.entered_column_at)
    left: list[tuple[str, Style]] = [("   ", styles.base), (waited, styles.level(level))]
    ready = days_since_ready(card, now)
    if in_hospital and ready is not None:
        left += [gap, (f"DRD+{ready}d", styles.level(level) if ready > 0 else styles.dim)]
    right = []
    if card.notes:
        right += [(f"✎{card.notes}", styles.dim), gap]
    if card.assigned_to:
        right += [(f"@{card.assigned_to}", styles.dim), gap]
    return _line(left, right, width, right_first=False)


def describe(event: Event, flow: Flow) -> str:
    """An event in the words the hub uses, for the timeline and for notifications."""
    p = event.payload

    def name(column_id: str | None) -> str:
        if not column_id:
            return "?"
        try:
            return flow.column(column_id).name
        except Exception:  # a column since removed from the flow file still shows its id
            return column_id

    undo = " (undo)" if p.get("undoes") else ""
    match event.kind:
        case EventKind.REFERRED:
            where = "/".join(x for x in (p.get("ward"), p.get("bed")) if x)
            return f"referred to {name(p.get('column'))}" + (f" from {where}" if where else "")
        case EventKind.MOVED:
            return f"moved {name(p.get('from'))} → {name(p.get('to'))}{undo}"
        case EventKind.CLOSED:
            outcome = OUTCOMES.get(str(p.get("outcome")), str(p.get("outcome")))
            return f"closed from {name(p.get('from'))}: {outcome}{undo}"
        case EventKind.REOPENED:
            return f"reopened into {name(p.get('to'))}{undo}"
        case EventKind.DELAY_SET:
            return f"delay reason {p.get('code')}{undo}"
        case EventKind.DELAY_CLEARED:
            return f"delay reason {p.get('previous')} cleared{undo}"
        case EventKind.READY_DATE_SET:
            if p.get("date"):
                return f"discharge-ready date {p['date']}{undo}"
            return f"discharge-ready date cleared (meets criteria to reside){undo}"
        case EventKind.EXPECTED_DATE_SET:
            return f"expected discharge {p.get('date') or 'cleared'}{undo}"
        case EventKind.WARD_SET:
            place = "/".join(x for x in (p.get("ward"), p.get("bed")) if x) or "none"
            return f"ward/bed {place}{undo}"
        case EventKind.NOTE_ADDED:
            return f"note: {p.get('text', '')}{undo}"
        case EventKind.NOTE_RETRACTED:
            return f"note retracted: {p.get('text', '')}{undo}"
        case EventKind.ASSIGNED:
            return f"assigned to {p['to']}{undo}" if p.get("to") else f"unassigned{undo}"
        case EventKind.ALERT_ACKNOWLEDGED:
            return f"alert acknowledged: {p.get('reason', '')}{undo}"
    return str(event.kind)
