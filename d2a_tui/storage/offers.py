"""Offers read from the event log: the context an offer command is judged against, and the
offers the board, the CLI and the reports list.

Nothing here writes: offer events are appended by `EventLog` like every other event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from d2a_tui.domain.errors import InvalidInput, NotFound
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.offers import (
    OFFER_KINDS,
    Offer,
    OfferContext,
    ServiceRef,
    fold,
    shown_offer,
)
from d2a_tui.storage.event_log import event_from_row, event_table, journey_table, patient_table
from d2a_tui.storage.models import AppUser, Service, table_of

service_table = table_of(Service)
user_table = table_of(AppUser)
_KINDS = [str(kind) for kind in OFFER_KINDS]


def services(connection: Connection) -> dict[str, ServiceRef]:
    rows = connection.execute(
        select(
            service_table.c.id,
            service_table.c.name,
            service_table.c.pathway,
            service_table.c.organisation_id,
            service_table.c.active,
        )
    )
    return {
        row.id: ServiceRef(row.id, row.name, row.pathway, row.organisation_id, bool(row.active))
        for row in rows
    }


def offer_context(
    connection: Connection,
    journey_id: str,
    event_id: str,
    actor: str,
    *,
    role: str | None = None,
    organisation: str | None = None,
    services_known: bool = True,
) -> OfferContext:
    """The context for an offer command on `journey_id`. The actor's role and organisation are
    the caller's when it knows them (the server, from the device's user), else this database's
    user record, where there is one."""
    if role is None:
        user = connection.execute(
            select(user_table.c.role, user_table.c.organisation_id).where(user_table.c.id == actor)
        ).first()
        if user is not None:
            role, organisation = user.role, user.organisation_id
    rows = connection.execute(
        select(event_table)
        .where(event_table.c.journey_id == journey_id, event_table.c.kind.in_(_KINDS))
        .order_by(event_table.c.seq)
    )
    return OfferContext(
        offers=fold(event_from_row(row) for row in rows),
        services=services(connection) if services_known else None,
        event_id=event_id,
        role=role,
        organisation=organisation,
    )


def read_offers(
    connection: Connection,
    *,
    journey_ids: Sequence[str] | None = None,
    open_journeys_only: bool = False,
    known_at: datetime | None = None,
) -> list[Offer]:
    """Offers folded from their events, oldest first. `known_at` gives them as they were known
    then: only events recorded by that moment (an answer recorded later is not yet there)."""
    query = select(event_table).where(event_table.c.kind.in_(_KINDS))
    if open_journeys_only:
        query = query.join(journey_table, journey_table.c.id == event_table.c.journey_id).where(
            journey_table.c.closed_at.is_(None)
        )
    if known_at is not None:
        query = query.where(event_table.c.recorded_at <= known_at)
    rows: list[Any] = []
    if journey_ids is None:
        rows = list(connection.execute(query.order_by(event_table.c.position)))
    else:
        ids = list(journey_ids)
        for start in range(0, len(ids), 500):  # a bound list, within every driver's limit
            chunk = ids[start : start + 500]
            rows += connection.execute(query.where(event_table.c.journey_id.in_(chunk)))
        rows.sort(key=lambda row: row.position)
    return list(fold(event_from_row(row) for row in rows).values())


# How far a device's clock may have been behind when it recorded an offer (`domain/limits.py`
# lets a change be up to a week ahead of the receiver; the same margin the other way).
CLOCK_MARGIN = timedelta(days=8)


def shown_offers(
    connection: Connection, where: Sequence[Any], referred_since: datetime | None = None
) -> dict[str, tuple[Offer, str]]:
    """Per journey matching `where` (conditions on the journey table), the offer its card shows
    and the service's name: one query beside the cards' own. `referred_since`, the earliest
    referral among those journeys, bounds the read of the (kind, time) index to their lifetime
    rather than the whole log's history of offers."""
    query = (
        select(event_table)
        .join(journey_table, journey_table.c.id == event_table.c.journey_id)
        # `where` may name the patient (a locality's board): joined, not left to a cross product.
        .join(patient_table, patient_table.c.id == journey_table.c.patient_id)
        .where(*where, event_table.c.kind.in_(_KINDS))
        .order_by(event_table.c.position)
    )
    if referred_since is not None:
        query = query.where(event_table.c.occurred_at >= referred_since - CLOCK_MARGIN)
    rows = connection.execute(query).all()
    if not rows:
        return {}
    names = {ref.id: ref.name for ref in services(connection).values()}
    shown: dict[str, tuple[Offer, str]] = {}
    for journey_id, offers in by_journey(
        fold(event_from_row(row) for row in rows).values()
    ).items():
        offer = shown_offer(offers)
        if offer is not None:
            shown[journey_id] = (offer, names.get(offer.service_id, offer.service_id))
    return shown


def resolve_offer(connection: Connection, reference: str) -> tuple[str, str]:
    """(journey id, offer id) for an offer's full id or its last (at least 6) characters."""
    text = reference.strip().lower()
    if len(text) < 6 or any(ch not in "0123456789abcdef-" for ch in text):
        raise InvalidInput(f"{reference!r} is not an offer id: give at least its last 6 characters")
    rows = connection.execute(
        select(event_table.c.event_id, event_table.c.journey_id)
        .where(
            event_table.c.kind == str(EventKind.OFFER_MADE),
            event_table.c.event_id.like(f"%{text}"),
        )
        .limit(3)
    ).all()
    if not rows:
        raise NotFound(f"no offer {reference}")
    if len(rows) > 1:
        raise InvalidInput(f"offer id {reference!r} is ambiguous: type more of it")
    return rows[0].journey_id, rows[0].event_id


def by_journey(offers: Iterable[Offer]) -> dict[str, list[Offer]]:
    grouped: dict[str, list[Offer]] = {}
    for offer in offers:
        grouped.setdefault(offer.journey_id, []).append(offer)
    return grouped
