"""Hand-offs to providers: the hub offers a person to a service, the provider answers.

An offer is not a field of the journey: it is the fold of the journey's offer events (made,
accepted, declined, withdrawn, questions), so its whole story replays from the log like the rest.
The rules for each offer command live here and are called from `commands.decide`, so the hub,
a replica and the server's ingest refuse the same things with the same reason codes.

What a rule needs beyond the journey (the journey's offers so far, the services, who is acting)
comes in an `OfferContext` that the storage layer reads in the command's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.domain.events import Event, EventKind, JourneyState
from d2a_tui.domain.flow import OfferRules
from d2a_tui.domain.limits import MAX_NOTE_LENGTH, check_date
from d2a_tui.domain.stuck import Level, Stuck
from d2a_tui.domain.timefmt import humanise

OFFER_KINDS = (
    EventKind.OFFER_MADE,
    EventKind.OFFER_ACCEPTED,
    EventKind.OFFER_DECLINED,
    EventKind.OFFER_WITHDRAWN,
    EventKind.OFFER_QUESTION,
)
OFFER_COMMANDS = ("offer", "accept_offer", "decline_offer", "withdraw_offer", "ask_offer")
# What a provider may do to an offer of its own services; making and withdrawing is the hub's.
ANSWER_COMMANDS = frozenset({"accept_offer", "decline_offer", "ask_offer"})
OFFER_ARGS: dict[str, frozenset[str]] = {
    "offer": frozenset({"offer_id", "service_id", "start", "note"}),
    "accept_offer": frozenset({"offer_id", "start"}),
    "decline_offer": frozenset({"offer_id", "reason", "text"}),
    "withdraw_offer": frozenset({"offer_id"}),
    "ask_offer": frozenset({"offer_id", "text"}),
}
DECLINE_REASONS: dict[str, str] = {
    "no_capacity": "No capacity",
    "cannot_meet_needs": "Cannot meet needs",
    "out_of_area": "Out of area",
    "other": "Other",
}
OPEN, ACCEPTED, DECLINED, WITHDRAWN = "open", "accepted", "declined", "withdrawn"


class OfferRefused(NotAllowed):
    """An offer command the rules refuse; `reason` is the code the API answers with."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Question:
    asked_at: datetime
    asked_by: str
    text: str


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    journey_id: str
    service_id: str
    made_at: datetime
    made_by: str
    start: date | None
    note: str | None
    status: str = OPEN
    answered_at: datetime | None = None
    answered_by: str | None = None
    reason: str | None = None  # a decline's code
    text: str | None = None  # a decline's words
    questions: tuple[Question, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def short_id(self) -> str:
        """The random end of the id: the start of a UUIDv7 is the time, shared by neighbours."""
        return self.offer_id[-8:]

    def waited(self, now: datetime) -> timedelta:
        """How long the offer has waited for its answer (or waited, once answered)."""
        return (self.answered_at or now) - self.made_at


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """What the offer rules need of a service."""

    id: str
    name: str
    pathway: str
    organisation_id: str | None
    active: bool = True


@dataclass(frozen=True, slots=True)
class OfferContext:
    """What an offer command is judged against besides the journey itself."""

    offers: Mapping[str, Offer]  # the journey's offers so far, by id
    # None where the services are not held: the server, which holds them, judges. A replica
    # holds its scope's (the sync brings them) and judges as the server does.
    services: Mapping[str, ServiceRef] | None
    event_id: str  # the id the new event will have: a new offer is known by it
    role: str | None = None  # the actor's role and organisation, where known
    organisation: str | None = None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def fold(events: Iterable[Event]) -> dict[str, Offer]:
    """Offers by id from offer events in journey order (other kinds are passed over)."""
    offers: dict[str, Offer] = {}
    for event in events:
        p = event.payload
        if event.kind is EventKind.OFFER_MADE:
            offers[p["offer_id"]] = Offer(
                offer_id=p["offer_id"],
                journey_id=event.journey_id,
                service_id=p["service_id"],
                made_at=event.occurred_at,
                made_by=event.actor,
                start=_date(p.get("start")),
                note=p.get("note"),
            )
            continue
        if event.kind not in OFFER_KINDS:
            continue
        offer = offers.get(p.get("offer_id", ""))
        if offer is None:
            continue  # an answer whose offer is outside what was read (an "as at" cut)
        at, by = event.occurred_at, event.actor
        match event.kind:
            case EventKind.OFFER_ACCEPTED:
                offer = replace(
                    offer,
                    status=ACCEPTED,
                    start=_date(p.get("start")),
                    answered_at=at,
                    answered_by=by,
                )
            case EventKind.OFFER_DECLINED:
                offer = replace(
                    offer,
                    status=DECLINED,
                    reason=p.get("reason"),
                    text=p.get("text"),
                    answered_at=at,
                    answered_by=by,
                )
            case EventKind.OFFER_WITHDRAWN:
                offer = replace(offer, status=WITHDRAWN, answered_at=at, answered_by=by)
            case EventKind.OFFER_QUESTION:
                question = Question(event.occurred_at, event.actor, str(p.get("text", "")))
                offer = replace(offer, questions=(*offer.questions, question))
        offers[offer.offer_id] = offer
    return offers


def shown_offer(offers: Iterable[Offer]) -> Offer | None:
    """The one offer a card shows: the open offer waiting longest, else the accepted one made
    last; a declined or withdrawn offer shows nothing (the hub is looking again)."""
    waiting = [o for o in offers if o.is_open]
    if waiting:
        return min(waiting, key=lambda o: o.made_at)
    accepted = [o for o in offers if o.status == ACCEPTED]
    return max(accepted, key=lambda o: o.made_at) if accepted else None


def short_age(waited: timedelta) -> str:
    """A card's few cells: whole minutes under an hour, whole hours under a day, then days."""
    minutes = max(int(waited.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def offer_mark(offer: Offer, service_name: str, now: datetime) -> str:
    """What a card shows of its offer: `→ Reablement North ?2h` while it waits for an answer,
    `→ Reablement North ✓ 26 Nov` once accepted."""
    if offer.is_open:
        return f"→ {service_name} ?{short_age(now - offer.made_at)}"
    if offer.status == "accepted" and offer.start is not None:
        return f"→ {service_name} ✓ {offer.start.strftime('%d %b')}"
    return f"→ {service_name} {offer.status}"


# --- the rules --------------------------------------------------------------------------------


def _text(value: Any, what: str, *, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{what} cannot be empty")
        return None
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"{what} is at most {MAX_NOTE_LENGTH} characters, this has {len(text)}")
    return text


def _start(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return check_date(value, what)
    try:
        return check_date(date.fromisoformat(str(value)), what)
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-11-26, got {value!r}") from None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def decide_offer(
    state: JourneyState, command: str, args: dict[str, Any], today: date, context: OfferContext
) -> tuple[EventKind, dict[str, Any]]:
    """The event an offer command makes, or `OfferRefused`/`InvalidInput` saying why not."""
    if context.role == "provider" and command not in ANSWER_COMMANDS:
        # Also refused by role before it gets here (`sync.rules`); kept here so no path forgets.
        raise OfferRefused(
            "forbidden", "a provider answers offers; making and withdrawing them is the hub's"
        )
    if command == "offer":
        return _make(state, args, today, context)
    offer = _answerable(args, context)
    if command == "withdraw_offer":
        return EventKind.OFFER_WITHDRAWN, {"offer_id": offer.offer_id}
    _check_provider(offer, context)
    if command == "accept_offer":
        start = _start(args.get("start"), "the start date")
        if start is None:
            raise InvalidInput("accepting an offer needs a start date")
        return EventKind.OFFER_ACCEPTED, {"offer_id": offer.offer_id, "start": start.isoformat()}
    if command == "decline_offer":
        reason = str(args.get("reason") or "")
        if reason not in DECLINE_REASONS:
            raise OfferRefused(
                "bad_reason",
                f"a decline's reason must be one of {', '.join(DECLINE_REASONS)}, got {reason!r}",
            )
        text = _text(args.get("text"), "the reason's text", required=reason == "other")
        return EventKind.OFFER_DECLINED, {
            "offer_id": offer.offer_id,
            "reason": reason,
            "text": text,
        }
    if command == "ask_offer":
        text = _text(args.get("text"), "a question", required=True)
        return EventKind.OFFER_QUESTION, {"offer_id": offer.offer_id, "text": text}
    raise InvalidInput(f"unknown offer command {command!r}")


def _make(
    state: JourneyState, args: dict[str, Any], today: date, context: OfferContext
) -> tuple[EventKind, dict[str, Any]]:
    offer_id = args.get("offer_id") or context.event_id
    if offer_id != context.event_id:
        # The offer is known by its event's id everywhere; a client naming another would make
        # an offer no answer could find.
        raise OfferRefused("bad_offer_id", "a new offer's id must be its event's id")
    service_id = str(args.get("service_id") or "").strip().lower()
    if context.services is None:
        if not service_id:
            raise OfferRefused("unknown_service", "an offer needs a service")
        return EventKind.OFFER_MADE, {
            "offer_id": offer_id,
            "service_id": service_id,
            "start": _iso(_start(args.get("start"), "the start date")),
            "note": _text(args.get("note"), "the offer's note", required=False),
        }
    service = context.services.get(service_id)
    if service is None:
        raise OfferRefused("unknown_service", f"no service {service_id!r}")
    if not service.active:
        raise OfferRefused("service_inactive", f"{service.name} is no longer taking referrals")
    if state.pathway is None:
        raise OfferRefused(
            "no_pathway", "the journey has no pathway yet: choose one before offering"
        )
    if service.pathway != state.pathway:
        raise OfferRefused(
            "wrong_pathway",
            f"{service.name} is a {service.pathway} service; this journey is on {state.pathway}",
        )
    if any(o.service_id == service.id and o.is_open for o in context.offers.values()):
        raise OfferRefused("already_offered", f"{service.name} has an open offer for this person")
    start = _start(args.get("start"), "the start date")
    return EventKind.OFFER_MADE, {
        "offer_id": offer_id,
        "service_id": service.id,
        "start": _iso(start),
        "note": _text(args.get("note"), "the offer's note", required=False),
    }


def _answerable(args: dict[str, Any], context: OfferContext) -> Offer:
    offer_id = args.get("offer_id")
    offer = context.offers.get(offer_id) if isinstance(offer_id, str) else None
    if offer is None:
        raise OfferRefused("offer_not_found", f"no offer {offer_id!r} on this journey")
    if offer.status == WITHDRAWN:
        raise OfferRefused("offer_withdrawn", "the offer was withdrawn by the hub")
    if offer.status != OPEN:
        raise OfferRefused("offer_answered", f"the offer was {offer.status} already")
    return offer


def _check_provider(offer: Offer, context: OfferContext) -> None:
    """A provider answers only its own services' offers; the hub may record any answer given
    by phone. An unknown organisation on either side is not the provider's own."""
    if context.role != "provider" or context.services is None:
        return
    service = context.services.get(offer.service_id)
    owner = service.organisation_id if service else None
    if context.organisation is None or owner != context.organisation:
        raise OfferRefused("not_your_offer", "that offer is to another provider's service")


# --- the clock --------------------------------------------------------------------------------


def offer_stuck(offer: Offer, service_name: str, now: datetime, rules: OfferRules) -> Stuck:
    """The offer clock as a stuck level with its reason, to merge with the card's own."""
    level = offer_level(offer, now, rules)
    if level is Level.OK:
        return Stuck(Level.OK)
    limit = rules.red_after if level is Level.RED else rules.amber_after
    return Stuck(
        level,
        (
            f"offer to {service_name} unanswered for {humanise(now - offer.made_at)} "
            f"({level.label} after {humanise(limit)})",
        ),
    )


def offer_level(offer: Offer, now: datetime, rules: OfferRules) -> Level:
    """How late the answer is, by the flow file's `[offers]` thresholds: only an open offer
    waits, so an answered one is never amber or red."""
    if not offer.is_open:
        return Level.OK
    waited = now - offer.made_at
    if waited >= rules.red_after:
        return Level.RED
    if waited >= rules.amber_after:
        return Level.AMBER
    return Level.OK
