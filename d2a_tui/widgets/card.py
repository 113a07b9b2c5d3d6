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
from d2a_tui.domain.display import shown
from d2a_tui.domain.events import Event, EventKind
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.offers import DECLINE_REASONS, offer_mark
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.timefmt import humanise
from d2a_tui.domain.views import Card

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
    # The level's symbol: its colour (or bold) but never reverse video of its own, which turns
    # ■ into a hole when there is no colour to tell red by.
    amber_mark: Style | None = None
    red_mark: Style | None = None

    def mark(self, level: Level) -> Style:
        if level is Level.RED and self.red_mark is not None:
            return self.red_mark
        if level is Level.AMBER and self.amber_mark is not None:
            return self.amber_mark
        return self.level(level)

    def level(self, level: Level) -> Style:
        if level is Level.RED:
            return self.red
        if level is Level.AMBER:
            return self.amber
        return self.dim


def who(card: Card, privacy: str) -> str:
    return card.initials if privacy == "initials" else card.name


def days_since_ready(card: Card, now: datetime, calendar: HubCalendar = LONDON) -> int | None:
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
    right parts are dropped, last first, until the left side fits. Every part is `shown`: a
    card's words (a name, a ward) come from people and other systems.
    """
    left = [(shown(text), style) for text, style in left]
    right = [(shown(text), style) for text, style in right]
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
        # The name has the width first: the last digits of the NHS number give way to it.
        return _line(
            [
                (" ", styles.base),
                (SYMBOLS[level], styles.mark(level)),
                gap,
                (who(card, privacy), styles.name),
            ],
            [(card.nhs_number[-4:], styles.dim), gap],
            width,
            right_first=False,
        )
    if sub == 1:
        right: list[tuple[str, Style]] = []
        if card.delay_reason:
            right += [(card.delay_reason, styles.base), gap]
        if in_hospital and card.left_hospital_at is not None:
            # The hospital has discharged the person (its ADT feed) while the journey still waits
            # in a hospital column: the hub moves or closes it; until then the card says how long
            # ago where the ward was, as red as a red card, with a shape for monochrome terminals.
            # Short enough for a column of an 80-column terminal; the delay reason gives way.
            flag = (f"⇥ left {humanise(now - card.left_hospital_at)}", styles.mark(Level.RED))
            return _line([("   ", styles.base), flag], [], width)
        place = "/".join(part for part in (card.ward, card.bed) if part) or "no ward"
        # Where the person is has the width first: the pathway (the column mostly says it), then
        # the delay code, then the indent give way before the ward is cut.
        pathway = (card.pathway or "P?", styles.dim)
        for where, kept in (
            ([("   ", styles.base), (place, styles.base), gap, pathway], right),
            ([("   ", styles.base), (place, styles.base)], right),
            ([("   ", styles.base), (place, styles.base)], []),
            ([(" ", styles.base), (place, styles.base)], []),
        ):
            if _width(where) + _width(kept) + (1 if kept else 0) <= width:
                break
        return _line(where, kept, width)
    waited = humanise(now - card.entered_column_at)
    ready = days_since_ready(card, now)
    ready_style = styles.level(level) if ready is not None and ready > 0 else styles.dim
    ready_text = f"DRD+{ready}d" if in_hospital and ready is not None else None
    if card.offer is not None:
        return _offer_line(card, now, width, styles, level, waited, ready_text, ready_style)
    left: list[tuple[str, Style]] = [("   ", styles.base), (waited, styles.level(level))]
    if ready_text is not None:
        left += [gap, (ready_text, ready_style)]
    extras: list[tuple[str, Style]] = []
    if card.notes:
        extras += [(f"✎{card.notes}", styles.dim), gap]
    if card.assigned_to:
        extras += [(f"@{card.assigned_to}", styles.dim), gap]
    return _line(left, extras, width, right_first=False)


def _offer_line(
    card: Card,
    now: datetime,
    width: int,
    styles: CardStyles,
    level: Level,
    waited: str,
    ready_text: str | None,
    ready_style: Style,
) -> list[Segment]:
    """The third line of a card with an offer: the hand-off is always there, its arrow and
    clock before anything else. What gives way when the column is narrow, in order: the
    service's name, the indent, "DRD" (the days stay), the time in the column."""
    assert card.offer is not None
    name = shown(card.offer_service or card.offer.service_id)
    mark = shown(offer_mark(card.offer, name, now))
    tail = mark[2 + len(name) :]  # " ?6h" or " ✓ 26 Nov"
    short = f"→{tail.strip()}"
    offer_style = styles.base if card.offer.is_open else styles.dim
    gap = (" ", styles.base)
    waited_part = (waited, styles.level(level))
    ready_parts = [gap, (ready_text, ready_style)] if ready_text else []
    short_ready = [gap, (ready_text[3:], ready_style)] if ready_text else []  # "+5d"
    lefts: list[list[tuple[str, Style]]] = [
        [("   ", styles.base), waited_part, *ready_parts],
        [(" ", styles.base), waited_part, *ready_parts],
        [(" ", styles.base), waited_part, *short_ready],
        [(" ", styles.base), waited_part],
        [(" ", styles.base)],
    ]
    for left in lefts:
        room = width - _width(left) - 1  # a space before the arrow
        if cell_len(mark) <= room:
            return _line([*left, gap, (mark, offer_style)], [], width)
        keep = room - cell_len(tail) - 3  # "→ " and "…"
        if keep >= 3:  # enough of the name to tell services apart
            cut = f"→ {set_cell_size(name, keep)}…{tail}"
            return _line([*left, gap, (cut, offer_style)], [], width)
        if cell_len(short) <= room:
            return _line([*left, gap, (short, offer_style)], [], width)
    return _line([(" ", styles.base), ("→", offer_style)], [], width)


def column_name(flow: Flow, column_id: object) -> str:
    try:
        return flow.column(str(column_id)).name
    except Exception:  # a column since removed from the flow file still shows its id
        return str(column_id)


def done_words(event: Event, card: Card, flow: Flow, privacy: str) -> str:
    """What a change did, in plain words about the person: "moved Ann Smith to On P1 at home".

    For the undo and redo messages, which are seen over a shoulder: never a note's text.
    """
    p = event.payload
    person = who(card, privacy)

    def name(column_id: object) -> str:
        return column_name(flow, column_id)

    match event.kind:
        case EventKind.MOVED:
            return f"moved {person} to {name(p.get('to'))}"
        case EventKind.CLOSED:
            outcome = OUTCOMES.get(str(p.get("outcome")), str(p.get("outcome")))
            return f"closed the journey of {person} ({outcome})"
        case EventKind.REOPENED:
            return f"reopened {person} into {name(p.get('to'))}"
        case EventKind.DELAY_SET:
            return f"set the delay reason of {person} to {p.get('code')}"
        case EventKind.DELAY_CLEARED:
            return f"cleared the delay reason of {person}"
        case EventKind.READY_DATE_SET:
            if p.get("date"):
                return f"set the discharge-ready date of {person} to {p['date']}"
            return f"cleared the discharge-ready date of {person}"
        case EventKind.EXPECTED_DATE_SET:
            return f"set the expected discharge of {person} to {p.get('date') or 'none'}"
        case EventKind.WARD_SET:
            return f"set the ward/bed of {person}"
        case EventKind.NOTE_ADDED:
            return f"added a note on {person}"
        case EventKind.NOTE_RETRACTED:
            return f"retracted a note on {person}"
        case EventKind.ASSIGNED:
            return f"assigned {person} to {p['to']}" if p.get("to") else f"unassigned {person}"
        case EventKind.ALERT_ACKNOWLEDGED:
            return f"acknowledged the alert on {person}"
        case EventKind.REFERRED:
            return f"referred {person}"
        case EventKind.OFFER_MADE:
            return f"offered {person} to {p.get('service_id')}"
        case EventKind.OFFER_ACCEPTED | EventKind.OFFER_DECLINED | EventKind.OFFER_WITHDRAWN:
            return f"{str(event.kind).removeprefix('offer_')} the offer for {person}"
        case EventKind.OFFER_QUESTION:
            return f"asked about the offer for {person}"
    return f"{event.kind} on {person}"


def describe(event: Event, flow: Flow) -> str:
    """An event in the words the hub uses, for the timeline and for notifications."""
    p = event.payload

    def name(column_id: str | None) -> str:
        return column_name(flow, column_id) if column_id else "?"

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
        case EventKind.OFFER_MADE:
            start = f", start {p['start']}" if p.get("start") else ""
            note = f": {p['note']}" if p.get("note") else ""
            return f"offered to {p.get('service_id')} (offer {str(p.get('offer_id'))[-8:]}{start}){note}"
        case EventKind.OFFER_ACCEPTED:
            return f"offer {str(p.get('offer_id'))[-8:]} accepted, start {p.get('start')}"
        case EventKind.OFFER_DECLINED:
            reason = DECLINE_REASONS.get(str(p.get("reason")), str(p.get("reason")))
            text = f": {p['text']}" if p.get("text") else ""
            return f"offer {str(p.get('offer_id'))[-8:]} declined ({reason}){text}"
        case EventKind.OFFER_WITHDRAWN:
            return f"offer {str(p.get('offer_id'))[-8:]} withdrawn"
        case EventKind.OFFER_QUESTION:
            return f"question on offer {str(p.get('offer_id'))[-8:]}: {p.get('text', '')}"
    return str(event.kind)
