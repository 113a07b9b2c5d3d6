"""The handover: what changed since a time, grouped per person, in time order, with who did it.

New referrals, moves, discharges, closures, delay reasons set, notes, journeys that turned amber
or red (the clock did that, not a person), and a replica's conflicts. Printed as plain text that
fits 80 columns for the morning huddle, or as JSON. No Textual here: the CLI and the board's
handover screen both render what `build` returns.

"The start of my shift" is the hub's shift pattern: shifts start at 08:00 and 20:00 hub time. In
the first hour of a shift the handover still covers the shift before, so the 08:00 huddle gets
the whole night, not its first minutes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError, InvalidInput
from d2a_tui.domain.events import Event, EventKind
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.outcomes import OUTCOMES
from d2a_tui.domain.stuck import Level, Stuck
from d2a_tui.domain.views import Card
from d2a_tui.services.finding import identity
from d2a_tui.storage.context import HubContext

if TYPE_CHECKING:
    from d2a_tui.sync.replica_hub import ReplicaSync


class HandoverHub(HubContext, Protocol):
    """What the handover needs of the Hub: its board, how stuck a card is, and on a replica its
    sync (whose conflicts the handover lists)."""

    @property
    def sync(self) -> ReplicaSync | None: ...
    def now(self) -> datetime: ...
    def board(self) -> list[Card]: ...
    def stuck(self, card: Card, now: datetime | None = None) -> Stuck: ...


SHIFT_STARTS = (time(8, 0), time(20, 0))
GRACE = timedelta(hours=1)
WIDTH = 80
ACTOR = 16  # user ids such as stockport.coord5; the change's text wraps in the 49 left
CLOCK = "—"  # the actor of a change nobody made: a timer crossing its threshold
_CLOCK_TIME = re.compile(r"(?:(today|yesterday)\s+)?(\d{1,2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class Item:
    at: datetime
    kind: str
    actor: str
    text: str


@dataclass(slots=True)
class Person:
    card: Card
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Handover:
    since: datetime
    until: datetime
    timezone: str
    people: tuple[Person, ...]

    @property
    def changes(self) -> int:
        return sum(len(person.items) for person in self.people)


# --- when ----------------------------------------------------------------------------------------


def default_since(now: datetime, calendar: HubCalendar) -> datetime:
    """The start of the current shift, or of the one before in a shift's first hour."""
    local = now.astimezone(calendar.zone)
    starts = [
        datetime.combine(local.date() - timedelta(days=back), start, tzinfo=calendar.zone)
        for back in (0, 1, 2)
        for start in SHIFT_STARTS
    ]
    return max(start for start in starts if start <= local - GRACE).astimezone(UTC)


def parse_since(text: str, now: datetime, calendar: HubCalendar) -> datetime:
    """`20:00` (today, or yesterday if that is still to come), `yesterday 20:00`, a date
    (`today`, `2026-11-23`, `23/11/2026`: its start) or a timestamp (`2026-11-23T20:00`, hub time
    unless it gives an offset)."""
    wanted = " ".join(text.strip().lower().split())
    match = _CLOCK_TIME.fullmatch(wanted)
    if match:
        word, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
        if hours > 23 or minutes > 59:
            raise InvalidInput(f"--since {text!r} is not a time of day: use HH:MM, e.g. 20:00")
        day = calendar.day(now) - timedelta(days=1 if word == "yesterday" else 0)
        moment = datetime.combine(day, time(hours, minutes), tzinfo=calendar.zone)
        if word is None and moment > now:
            moment -= timedelta(days=1)  # "20:00" at 07:30 means last night's 20:00
        since = moment.astimezone(UTC)
    elif wanted in ("today", "yesterday") or "/" in wanted or len(wanted) == 10:
        since = calendar.start_of_day(calendar.parse_date(wanted, "--since", now=now))
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidInput(
                f"--since {text!r} is not a time: use 20:00, yesterday 20:00, a date or "
                "2026-11-23T20:00"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=calendar.zone)
        since = moment.astimezone(UTC)
    if since > now:
        raise InvalidInput(f"--since {text!r} is in the future")
    return since


# --- what ----------------------------------------------------------------------------------------


def _column(flow: Flow, column_id: Any) -> str:
    try:
        return flow.column(str(column_id)).name
    except D2AError:
        return str(column_id)


def describe(event: Event, flow: Flow) -> str:
    payload = event.payload
    undo = " (undo)" if payload.get("undoes") else ""
    match event.kind:
        case EventKind.REFERRED:
            where = "/".join(x for x in (payload.get("ward"), payload.get("bed")) if x)
            return f"new referral from {where or 'no ward'}, into {_column(flow, payload.get('column'))}"
        case EventKind.MOVED:
            move = f"{_column(flow, payload.get('from'))} → {_column(flow, payload.get('to'))}"
            return ("discharged: " if payload.get("discharged") else "moved ") + move + undo
        case EventKind.CLOSED:
            outcome = OUTCOMES.get(str(payload.get("outcome")), str(payload.get("outcome")))
            return f"closed: {outcome}{undo}"
        case EventKind.REOPENED:
            return f"reopened into {_column(flow, payload.get('to'))}{undo}"
        case EventKind.DELAY_SET:
            return f"delay reason set: {payload.get('code')}{undo}"
        case EventKind.NOTE_ADDED:
            return f"note: {payload.get('text', '')}"
    return str(event.kind)


def _crossed(
    card: Card, stuck_at: Callable[[Card, datetime], Stuck], start: datetime, until: datetime
) -> list[Item]:
    """The moments in [start, until] the card's stuck level rose, found by bisection (a level
    only rises while the journey stays put), to the minute."""
    items: list[Item] = []
    low_level = stuck_at(card, start).level
    final = stuck_at(card, until)
    for level in (Level.AMBER, Level.RED):
        if not (low_level < level <= final.level):
            continue
        low, high = start, until
        while high - low > timedelta(minutes=1):
            middle = low + (high - low) / 2
            if stuck_at(card, middle).level >= level:
                high = middle
            else:
                low = middle
        word = "amber" if level is Level.AMBER else "red"
        reasons = stuck_at(card, high).reasons  # why, as it stood when it turned
        reason = f": {reasons[0]}" if reasons else ""  # the worst first: why it is this colour
        items.append(Item(high, f"turned_{word}", CLOCK, f"turned {word}{reason}"))
    return items


def build(
    events: Iterable[Event],
    cards: dict[str, Card],
    open_cards: Iterable[Card],
    flow: Flow,
    stuck_at: Callable[[Card, datetime], Stuck],
    since: datetime,
    until: datetime,
    timezone: str,
    conflicts: Iterable[Any] = (),
) -> Handover:
    people: dict[str, Person] = {}

    def person(card: Card) -> Person:
        return people.setdefault(card.journey_id, Person(card))

    for event in events:
        card = cards.get(event.journey_id)
        if card is not None:
            person(card).items.append(
                Item(event.occurred_at, str(event.kind), event.actor, describe(event, flow))
            )
    for card in open_cards:
        start = max(since, card.entered_column_at)
        if start < until:
            for item in _crossed(card, stuck_at, start, until):
                person(card).items.append(item)
    for conflict in conflicts:
        card = cards.get(conflict.journey_id or "")
        if card is not None and since <= conflict.created_at <= until:
            text = f"conflict: your {conflict.command} was not applied ({conflict.outcome})"
            person(card).items.append(Item(conflict.created_at, "conflict", conflict.actor, text))
    for entry in people.values():
        entry.items.sort(key=lambda item: item.at)
    ordered = sorted(people.values(), key=lambda p: (p.items[0].at, p.card.name))
    return Handover(since, until, timezone, tuple(ordered))


# --- how it reads --------------------------------------------------------------------------------


def _when(moment: datetime, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%a %H:%M")


def heading(card: Card, flow: Flow, initials: bool = False) -> tuple[str, str]:
    """Who (with the journey's short id, to type into `d2a show`), then where they are now."""
    place = "/".join(x for x in (card.ward, card.bed) if x) or "no ward"
    now = (
        _column(flow, card.column)
        if card.closed_at is None
        else "closed: " + OUTCOMES.get(card.outcome or "", card.outcome or "")
    )
    tag = f"  [{card.short_id}]"
    name, nhs = identity(card, initials)
    who = f"{name}  {nhs}"
    return who[: WIDTH - len(tag)] + tag, f"  now: {place} · {now}"[:WIDTH]


def to_lines(
    handover: Handover, flow: Flow, calendar: HubCalendar, *, initials: bool = False
) -> list[str]:
    """The handover as text of at most 80 columns; `initials` hides names as the board does."""
    zone = calendar.zone
    since = handover.since.astimezone(zone).strftime("%a %d %b %H:%M")
    until = handover.until.astimezone(zone).strftime("%a %d %b %H:%M")
    people = len(handover.people)
    lines = [
        f"Handover from {since} to {until} ({handover.timezone})",
        f"{people} {'person' if people == 1 else 'people'}, "
        f"{handover.changes} {'change' if handover.changes == 1 else 'changes'}",
    ]
    if not handover.people:
        lines.append("Nothing changed.")
    for entry in handover.people:
        lines += ["", *heading(entry.card, flow, initials)]
        for item in entry.items:
            lead = f"  {_when(item.at, zone)}  {item.actor[:ACTOR]:<{ACTOR}}  "
            lines += textwrap.wrap(
                item.text,
                WIDTH,
                initial_indent=lead,
                subsequent_indent=" " * len(lead),
                break_long_words=True,
            ) or [lead.rstrip()]
    return lines


def to_json(handover: Handover, flow: Flow) -> dict[str, Any]:
    return {
        "since": handover.since,
        "until": handover.until,
        "timezone": handover.timezone,
        "people": [
            {
                "id": entry.card.journey_id,
                "name": entry.card.name,
                "nhs_number": entry.card.nhs_number,
                "ward": entry.card.ward,
                "bed": entry.card.bed,
                "column": entry.card.column,
                "status": "open" if entry.card.closed_at is None else "closed",
                "outcome": entry.card.outcome,
                "changes": [
                    {"at": item.at, "kind": item.kind, "actor": item.actor, "text": item.text}
                    for item in entry.items
                ],
            }
            for entry in handover.people
        ],
    }


def for_hub(
    hub: HandoverHub, since: datetime | None = None, until: datetime | None = None
) -> Handover:
    """The handover on a hub (direct or replica) up to `until` (default: now)."""
    from d2a_tui.storage.handover import events_between

    until = until or hub.now()
    since = since or default_since(until, hub.calendar)
    if since >= until:
        raise InvalidInput("the handover's start must be before its end")
    events, cards = events_between(hub.store, since, until)
    conflicts: list[Any] = []
    if hub.sync is not None:  # a replica: its own changes not applied
        conflicts = [c for c in hub.sync.conflicts(include_resolved=True) if c.journey_id]
        for conflict in conflicts:
            if conflict.journey_id not in cards and since <= conflict.created_at <= until:
                cards[conflict.journey_id] = hub.store.card(conflict.journey_id)
    return build(
        events, cards, hub.board(), hub.flow, lambda card, at: hub.stuck(card, at),
        since, until, hub.calendar.timezone, conflicts,
    )  # fmt: skip
