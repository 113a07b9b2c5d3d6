"""How a mutation made offline lands on a journey that may have changed since: the one rule that
the server applies (`settled`, checked inside `UnitOfWork.execute`) and that a replica uses to
show its pending changes on top of others' (`judge`). The events themselves are made by the
domain's `handle`, on either side.

The rule generalises DESIGN.md's rule for moves to every field a command changes: a change
applies if the journey still looks as the user saw it (a move: still in the column it was moved
from); if the journey already looks as the user wanted, it is merged (nothing to do); otherwise
it is a conflict for the user to resolve. Versions are not compared: a replica's version counts
its own pending events too, so equal numbers can name different histories. Notes and
acknowledgements change nothing anyone saw and never conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.commands import FEED_COMMANDS
from d2a_tui.domain.errors import D2AError, InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.events import Event, EventKind, JourneyState, ReplayError, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.handler import Command, handle, judged_day
from d2a_tui.domain.limits import check_event_fields, check_occurred_at
from d2a_tui.domain.offers import ANSWER_COMMANDS, OFFER_COMMANDS, OfferContext

if TYPE_CHECKING:
    from d2a_tui.sync.protocol import Outcome

ROLES = ("coordinator", "night", "provider", "manager", "viewer")
JOURNEY_ROLES = frozenset({"coordinator", "night"})
CAPACITY_ROLES = frozenset({"coordinator", "provider"})


def refusal_for_role(role: str | None, kind: str, command: str | None = None) -> str | None:
    """Why a user of `role` may not make a change of this kind (command, resolve, capacity), or
    None. The server refuses with it; a replica refuses at the keyboard with the same words.
    A provider answers offers (`command`); which offers are its own is the offer rules' check."""
    if kind == "access":
        return None  # every role's looks are recorded
    if kind == "command" and command in FEED_COMMANDS:
        return f"only the hospital's feed or an administrator sends {command}"
    if kind == "capacity":
        return None if role in CAPACITY_ROLES else f"a {role} cannot report capacity"
    if role in JOURNEY_ROLES:
        return None
    if role == "provider" and kind == "command" and command in ANSWER_COMMANDS:
        return None
    if role == "provider" and kind == "command" and command in OFFER_COMMANDS:
        return "a provider answers offers; making and withdrawing them is the hub's"
    if kind == "resolve":
        return f"a {role} cannot resolve conflicts"
    return f"a {role} cannot change journeys"


# Which fields each kind of event changes: what the user "saw" before their change.
FIELDS_BY_KIND: dict[EventKind, tuple[str, ...]] = {
    EventKind.MOVED: ("column",),
    EventKind.CLOSED: ("column",),
    EventKind.REOPENED: ("column",),
    EventKind.DELAY_SET: ("delay_reason",),
    EventKind.DELAY_CLEARED: ("delay_reason",),
    EventKind.READY_DATE_SET: ("discharge_ready_date",),
    EventKind.EXPECTED_DATE_SET: ("expected_discharge_date",),
    EventKind.WARD_SET: ("ward", "bed"),
    EventKind.ASSIGNED: ("assigned_to",),
}
# The kinds that may have made a field what it is now: to name "their" change in a conflict.
KINDS_BY_FIELD: dict[str, tuple[str, ...]] = {}
for _kind, _fields in FIELDS_BY_KIND.items():
    for _field in _fields:
        KINDS_BY_FIELD.setdefault(_field, ())
        KINDS_BY_FIELD[_field] += (str(_kind),)


def _wire(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def values(state: JourneyState, names: Any) -> dict[str, Any]:
    return {name: _wire(getattr(state, name)) for name in names}


def seen_and_want(
    old: JourneyState | None, new: JourneyState, kind: EventKind
) -> tuple[dict[str, Any], dict[str, Any]]:
    names = FIELDS_BY_KIND.get(kind, ())
    if old is None or not names:
        return {}, {}
    return values(old, names), values(new, names)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    event: Event | None = None
    state: JourneyState | None = None
    reason: str | None = None
    message: str | None = None
    current: dict[str, Any] | None = None  # the journey's values when it conflicted


def reason_code(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    if isinstance(reason, str):
        return reason  # a field limit names its own (too_long, control_characters, ...)
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, InvalidInput):
        return "invalid_input"
    if isinstance(error, NotAllowed):
        return "not_allowed"
    return "refused"


def judge(
    flow: Flow,
    state: JourneyState | None,
    *,
    mutation_id: str,
    command: str,
    journey_id: str,
    args: dict[str, Any],
    seen: dict[str, Any],
    want: dict[str, Any],
    actor: str,
    occurred_at: datetime,
    undo_target: Callable[[str], Event] | None = None,
    undo_event_id: str | None = None,
    now: datetime | None = None,
    calendar: HubCalendar = LONDON,
    offers: OfferContext | None = None,
) -> Verdict:
    """The outcome of one mutation on `state`, and the event it makes. Pure: writes nothing.
    `now` is the receiver's clock: a change made after it (beyond clock drift) is refused."""
    unmet = settled(state, seen, want)
    if unmet is not None:
        return unmet
    try:
        check_occurred_at(occurred_at, now)
        undoes = None
        if command == "undo":
            if state is None or undo_event_id is None or undo_target is None:
                raise InvalidInput("undo needs a journey and the event to undo")
            undoes = undo_target(undo_event_id)
        asked = Command(command, args, journey_id, mutation_id, actor, occurred_at, undoes)
        [event] = handle(flow, state, asked, judged_day(calendar, occurred_at, now), offers)
        check_event_fields(event.payload, actor, occurred_at, now)
        return Verdict("applied", event=event, state=apply(state, event))
    except (D2AError, ReplayError, KeyError, TypeError, ValueError, OverflowError) as error:
        # KeyError/TypeError/ValueError: args a well-behaved client never sends (a referral
        # without a patient); refused like a rule, never a 500 that blocks the outbox forever.
        return Verdict("rejected", state=state, reason=reason_code(error), message=str(error))


def settled(
    state: JourneyState | None, seen: dict[str, Any], want: dict[str, Any]
) -> Verdict | None:
    """None when the journey still looks as the change's maker saw it (the change may apply);
    else merged (it already looks as they wanted) or a conflict naming its values now."""
    if state is None or not seen:
        return None
    current = values(state, seen)
    if current == seen:
        return None
    if want and values(state, want) == want:
        return Verdict("merged", state=state, reason="already_done")
    return Verdict(
        "conflict",
        state=state,
        reason="changed_since",
        message="the journey changed after you saw it",
        current=current,
    )
