"""The one place a journey's events are made: `handle` turns a command, judged on the journey as
it stands, into the events it means.

Every writer reaches it through one `execute` (`storage/journeys.py`: prepare -> handle ->
append): the board and the CLI, the import, the ADT feed and the sync server's ingest. A replica
judging its pending changes again (`sync/rules.judge`) and an import's dry run call it directly.
Pure, like the rules it applies (`commands.decide`, `commands.compensate`, the offers' rules):
what needs the database (the journey, the person on record, the journey's offers, the event an
undo names) is read by the caller and handed in.

An `Event` is constructed nowhere else (tests/test_one_command_path.py). The only other way one
comes to be is `recorded_event`: an event that already happened, as a log holds it (read back
from a row, pulled from the server, a seeded history, a replica's pending referral).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.commands import compensate, decide
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.domain.events import Event, EventKind, JourneyState
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.offers import OfferContext

# Drift of a device's clock tolerated when its dates are judged by the receiver's "today".
DATE_DRIFT = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the rules see it: everything about it that is not read from the database."""

    name: str
    args: dict[str, Any]
    journey_id: str
    event_id: str  # the id of the (first) event it makes: a sync mutation's own id
    actor: str
    occurred_at: datetime
    # The event an undo compensates, as the caller read it (None for any other command).
    undoes: Event | None = None


def handle(
    flow: Flow,
    state: JourneyState | None,
    command: Command,
    today: date,
    offers: OfferContext | None = None,
) -> list[Event]:
    """The events `command` makes on `state` (None: the journey does not exist yet), or the
    domain's refusal (`D2AError`) saying why not. `today` is what its dates are judged against
    (`judged_day`); `offers` is the journey's offers and the services, for an offer command."""
    if command.name == "undo" or command.undoes is not None:
        if state is None or command.undoes is None:
            raise InvalidInput("undo needs a journey and the event to undo")
        kind, payload = compensate(state, command.undoes)
    else:
        kind, payload = decide(flow, state, command.name, command.args, today, offers)
    return [
        Event(
            event_id=command.event_id,
            journey_id=command.journey_id,
            kind=kind,
            payload=payload,
            actor=command.actor,
            occurred_at=command.occurred_at,
            seq=1 if state is None else state.version + 1,
        )
    ]


def judged_day(calendar: HubCalendar, occurred_at: datetime, now: datetime | None) -> date:
    """The day a change's dates are judged against: the day it was made, by the maker's clock,
    but never a day the receiver's clock (`now`; None: the maker is the receiver) has not reached,
    give or take a few minutes' drift: "today" typed on a device 5 h fast at 21:00 is tomorrow,
    and refused as in the future."""
    today = calendar.day(occurred_at)
    if now is None:
        return today
    return min(today, calendar.day(now + DATE_DRIFT))


def recorded_event(
    event_id: str,
    journey_id: str,
    kind: EventKind,
    payload: dict[str, Any],
    actor: str,
    occurred_at: datetime,
    seq: int,
) -> Event:
    """An event that already happened, as a log holds it: never a new decision (that is
    `handle`'s). Called only where history is read or replayed (see the module docstring)."""
    return Event(event_id, journey_id, kind, payload, actor, occurred_at, seq)
