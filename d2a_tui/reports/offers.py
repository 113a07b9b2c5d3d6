"""Hand-off figures from the offer events: today's (the dashboard) and a period's (`d2a report
offers`): time from offer to answer, from the discharge-ready date to the start of the service,
per service and pathway, and declines by reason.

Like every report, these come from the event log and are right "as at" any moment: with
`as_known_at`, only events recorded by then count, so an answer recorded later is still waiting
and a ready date entered later is not yet known.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.flow import OfferRules
from d2a_tui.domain.offers import ACCEPTED, DECLINE_REASONS, DECLINED, WITHDRAWN, Offer, offer_level
from d2a_tui.domain.stuck import Level
from d2a_tui.reports.period import nearest_rank
from d2a_tui.reports.tables import Report, Table
from d2a_tui.storage.event_log import event_table, translated_errors
from d2a_tui.storage.offers import read_offers, services

if TYPE_CHECKING:
    from d2a_tui.reports.service import Reports


@dataclass(frozen=True)
class OffersToday:
    """The dashboard's hand-offs: waiting now (by clock level), answered today (hub's day)."""

    waiting: int = 0
    amber: int = 0
    red: int = 0
    accepted_today: int = 0
    declined_today: dict[str, int] = field(default_factory=dict)  # reason code -> count


def offers_today(
    engine: Engine, now: datetime, calendar: HubCalendar, rules: OfferRules
) -> OffersToday:
    today = calendar.day(now)
    start, end = calendar.start_of_day(today), calendar.end_of_day(today)
    with translated_errors(engine), engine.connect() as connection:
        waiting = [o for o in read_offers(connection, open_journeys_only=True) if o.is_open]
        answers = connection.execute(
            select(event_table.c.kind, event_table.c.payload).where(
                event_table.c.kind.in_(
                    [str(EventKind.OFFER_ACCEPTED), str(EventKind.OFFER_DECLINED)]
                ),
                event_table.c.occurred_at >= start,
                event_table.c.occurred_at < end,
            )
        ).all()
    levels = Counter(offer_level(o, now, rules) for o in waiting)
    declined = Counter(
        str(row.payload.get("reason")) for row in answers if row.kind == EventKind.OFFER_DECLINED
    )
    return OffersToday(
        waiting=len(waiting),
        amber=levels[Level.AMBER],
        red=levels[Level.RED],
        accepted_today=sum(1 for row in answers if row.kind == EventKind.OFFER_ACCEPTED),
        declined_today=dict(declined),
    )


# --- a period ---------------------------------------------------------------------------------


def _events_in_order(
    connection: Connection,
    journey_ids: Iterable[str],
    kinds: Iterable[EventKind],
    known: datetime | None,
) -> Iterator[Any]:
    """These journeys' events of `kinds`, each journey's in its own order, as known at `known`
    (or now): read 500 journeys at a time, so a long list never makes one huge IN clause."""
    ids = list(journey_ids)
    wanted = [str(kind) for kind in kinds]
    for first in range(0, len(ids), 500):
        query = (
            select(event_table.c.journey_id, event_table.c.kind, event_table.c.payload)
            .where(
                event_table.c.journey_id.in_(ids[first : first + 500]),
                event_table.c.kind.in_(wanted),
            )
            .order_by(event_table.c.journey_id, event_table.c.seq)
        )
        if known is not None:
            query = query.where(event_table.c.recorded_at <= known)
        yield from connection.execute(query)


def ready_dates(
    connection: Connection, journey_ids: Iterable[str], known: datetime | None
) -> dict[str, date | None]:
    """Each journey's discharge-ready date as known at `known` (or now): the referral's, then
    every later setting in journey order."""
    ready: dict[str, date | None] = {}
    kinds = (EventKind.REFERRED, EventKind.READY_DATE_SET)
    for row in _events_in_order(connection, journey_ids, kinds, known):
        key = "discharge_ready_date" if row.kind == EventKind.REFERRED else "date"
        value = row.payload.get(key)
        ready[row.journey_id] = date.fromisoformat(value) if value else None
    return ready


def _hours(offer: Offer) -> float | None:
    if offer.status not in (ACCEPTED, DECLINED) or offer.answered_at is None:
        return None
    return (offer.answered_at - offer.made_at).total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    middle = nearest_rank(values, 50)
    return None if middle is None else round(middle, 1)


LAPSED = "lapsed"


def closed_journeys(
    connection: Connection, journey_ids: Iterable[str], known: datetime | None
) -> set[str]:
    """Which of these journeys were closed (as known at `known`, or now): the last of their
    closes and reopens decides."""
    last: dict[str, str] = {}
    kinds = (EventKind.CLOSED, EventKind.REOPENED)
    for row in _events_in_order(connection, journey_ids, kinds, known):
        last[row.journey_id] = row.kind
    return {jid for jid, kind in last.items() if kind == EventKind.CLOSED}


def _status(offer: Offer, closed: set[str]) -> str:
    """An offer never answered whose journey closed (the person died or left) lapsed: it is no
    longer waiting, in this report as on the dashboard."""
    return LAPSED if offer.is_open and offer.journey_id in closed else offer.status


def _row(
    label: str,
    pathway: str,
    group: list[Offer],
    ready: dict[str, date | None],
    closed: set[str],
) -> tuple[Any, ...]:
    statuses = Counter(_status(o, closed) for o in group)
    hours = [h for o in group if (h := _hours(o)) is not None]
    waits = [
        float((o.start - drd).days)
        for o in group
        if o.status == ACCEPTED and o.start and (drd := ready.get(o.journey_id)) is not None
    ]
    return (
        label, pathway, len(group), statuses[ACCEPTED], statuses[DECLINED], statuses[WITHDRAWN],
        statuses[LAPSED], statuses["open"], _median(hours), _median(waits),
    )  # fmt: skip


COLUMNS = (
    "Offers", "Accepted", "Declined", "Withdrawn", "Lapsed", "Waiting",
    "Median hours to answer", "Median days ready to start",
)  # fmt: skip


def offer_tables(
    connection: Connection,
    first: date,
    last: date,
    known: datetime | None,
    calendar: HubCalendar,
) -> tuple[Table, ...]:
    """Offers made on the hub's days `first`..`last`, with what became of them (as known)."""
    refs = services(connection)
    offers = [
        o
        for o in read_offers(connection, known_at=known)
        if first <= calendar.day(o.made_at) <= last
    ]
    ready = ready_dates(connection, {o.journey_id for o in offers if o.status == ACCEPTED}, known)
    closed = closed_journeys(connection, {o.journey_id for o in offers if o.is_open}, known)
    by_service: dict[str, list[Offer]] = {}
    by_pathway: dict[str, list[Offer]] = {}
    for offer in offers:
        by_service.setdefault(offer.service_id, []).append(offer)
        ref = refs.get(offer.service_id)
        by_pathway.setdefault(ref.pathway if ref else "?", []).append(offer)
    service_rows = tuple(
        _row(
            refs[s].name if s in refs else s,
            refs[s].pathway if s in refs else "?",
            group,
            ready,
            closed,
        )
        for s, group in sorted(by_service.items())
    )
    pathway_rows = tuple(
        (row[0], *row[2:])
        for row in (_row(p, p, group, ready, closed) for p, group in sorted(by_pathway.items()))
    )
    declines = Counter(o.reason for o in offers if o.status == DECLINED)
    note = (
        "Offers made in the period; hours to answer count accepts and declines (a withdrawal "
        "is the hub's); days ready to start run from the discharge-ready date to the agreed start; "
        "an offer lapsed when its journey closed unanswered; medians by nearest rank."
    )
    return (
        Table("offers_by_service", "Offers by service", ("Service", "Pathway", *COLUMNS),
              service_rows, note),
        Table("offers_by_pathway", "Offers by pathway", ("Pathway", *COLUMNS), pathway_rows),
        Table("declines", "Declines by reason", ("Reason", "Declines"),
              tuple((text, declines.get(code, 0)) for code, text in DECLINE_REASONS.items())),
    )  # fmt: skip


def offers_report(
    reports: Reports,
    first: str | date | None = None,
    last: str | date | None = None,
    *,
    as_known_at: str | datetime | None = None,
) -> Report:
    start, end = reports._period(first, last)
    known = reports.known_at(as_known_at)
    engine = reports.hub.store.engine
    with translated_errors(engine), engine.connect() as connection:
        tables = offer_tables(connection, start, end, known, reports.calendar)
    return Report(
        "offers",
        f"Hand-offs to providers, {start:%d %b %Y} to {end:%d %b %Y}" + reports._known_title(known),
        {"from": start, "to": end, "as_known_at": known},
        tables,
        reports.hub.clock(),
    )
