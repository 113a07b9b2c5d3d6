"""Need-to-know on the server: which journeys a caller may read or change, and what a device
must forget when its scope shrinks. What of each event leaves is `outbound.py`'s (the domain's
allow-list, `domain/need_to_know.py`).

The rules are `domain/scope.py`'s; this module finds the journeys they apply to. A coordinator,
night or viewer user with no locality serves every locality (a hub of one locality needs none),
and a manager with none sees figures for every locality. A provider sees a journey only while one
of its organisation's services holds an open offer for it, or an accepted one until 14 days after
the journey closes.

`sync_held` lists what the server has sent each device. A pull answers with `forget` (held, no
longer in scope) and `fetch` (in scope, not held: the scope grew); a `forget` is sent again on
every pull until the device pulls past the cursor that first carried it, so a lost answer cannot
leave a journey behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.need_to_know import (
    SERVICES_BY_ROLE,
    organisation_values,
    service_values,
    view_of,
)
from d2a_tui.domain.scope import OFFER_KINDS, OfferFact, offers
from d2a_tui.storage.journeys import event_table, journey_table, patient_table
from d2a_tui.storage.models import Organisation, Service, UserLocality, table_of
from d2a_tui.sync.models import SyncDevice, SyncHeld

held_table = table_of(SyncHeld)
device_table = table_of(SyncDevice)
user_locality_table = table_of(UserLocality)
service_table = table_of(Service)
organisation_table = table_of(Organisation)
OFFER_KIND_VALUES = tuple(str(kind) for kind in OFFER_KINDS)
RECENT = timedelta(days=30)  # as the snapshot's default `closed_days`


@dataclass(frozen=True, slots=True)
class Reader:
    """A caller as scope sees them: role, organisation and the localities they serve."""

    user_id: str
    role: str | None
    organisation_id: str | None
    localities: frozenset[str]

    @property
    def view(self) -> str:
        return view_of(self.role)


def reader(
    connection: Connection, user_id: str, role: str | None, organisation: str | None
) -> Reader:
    localities = connection.execute(
        select(user_locality_table.c.locality).where(user_locality_table.c.user_id == user_id)
    ).scalars()
    return Reader(user_id, role, organisation, frozenset(localities))


@dataclass
class Scope:
    """The journeys a reader may see now: `everything`, or those of `query` (localities), or
    the ids in `journeys` (a provider's). `own_offers` are a provider's offers (the only ones
    it sees). `key` names what a locality scope depends on (the view and the localities): while
    a device's key is unchanged there is nothing for it to forget, and no need to list it all."""

    everything: bool
    journeys: set[str] = field(default_factory=set)
    query: Select[Any] | None = None
    own_offers: frozenset[str] = frozenset()
    # The journeys a device should hold (open, or closed within RECENT): what a snapshot sends
    # and what a grown scope fetches. Older closed ones come back only if they change.
    recent: set[str] = field(default_factory=set)
    key: str | None = None  # None: the scope moves with offers and time (a provider's)
    loaded: bool = True
    localities: frozenset[str] = frozenset()

    def narrow(self, journeys: Select[Any]) -> Select[Any]:
        """A query of journey rows cut to this scope: a join for localities, which the
        database plans better than a long list or a nested query."""
        if self.everything:
            return journeys
        if self.localities:
            return journeys.join(
                patient_table, patient_table.c.id == journey_table.c.patient_id
            ).where(patient_table.c.locality.in_(sorted(self.localities)))
        return journeys.where(journey_table.c.id.in_(sorted(self.journeys)))

    def covers(self, connection: Connection, journey_id: str) -> bool:
        if self.everything:
            return True
        if self.query is not None:
            found = connection.execute(
                self.query.where(journey_table.c.id == journey_id).limit(1)
            ).first()
            return found is not None
        return journey_id in self.journeys

    def load(self, connection: Connection, now: datetime) -> None:
        """List a locality scope's journeys (only a change of scope needs them)."""
        if self.loaded or self.query is None:
            return
        rows = connection.execute(
            select(journey_table.c.id, journey_table.c.closed_at).where(
                journey_table.c.id.in_(self.query)
            )
        ).all()
        since = now - RECENT
        self.journeys = {row.id for row in rows}
        self.recent = {row.id for row in rows if row.closed_at is None or row.closed_at >= since}
        self.loaded = True


def _locality_query(localities: Iterable[str]) -> Select[Any]:
    return (
        select(journey_table.c.id)
        .join(patient_table, patient_table.c.id == journey_table.c.patient_id)
        .where(patient_table.c.locality.in_(sorted(localities)))
    )


def provider_services(connection: Connection, organisation: str | None) -> set[str]:
    if organisation is None:
        return set()
    return set(
        connection.execute(
            select(service_table.c.id).where(service_table.c.organisation_id == organisation)
        ).scalars()
    )


def services_seen(connection: Connection, who: Reader) -> dict[str, list[dict[str, Any]]]:
    """The services (and their organisations) a reader's device may hold, each cut to the
    fields its view may receive (`need_to_know.SERVICES_BY_ROLE` and `SERVICE_FIELDS`). A user
    with localities gets those localities' services and those of no one locality: the services
    its hub may offer people to."""
    reach = SERVICES_BY_ROLE.get(who.role or "")
    query = select(service_table).order_by(service_table.c.id)
    if reach is None or (reach == "own" and who.organisation_id is None):
        return {"organisations": [], "services": []}
    if reach == "own":
        query = query.where(service_table.c.organisation_id == who.organisation_id)
    elif who.localities:
        query = query.where(
            or_(
                service_table.c.locality.in_(sorted(who.localities)),
                service_table.c.locality.is_(None),
            )
        )
    view = who.view
    services = [service_values(view, dict(row._mapping)) for row in connection.execute(query)]
    owners = sorted({s["organisation_id"] for s in services if s.get("organisation_id")})
    organisations = [
        organisation_values(view, dict(row._mapping))
        for row in connection.execute(
            select(organisation_table)
            .where(organisation_table.c.id.in_(owners))
            .order_by(organisation_table.c.id)
        )
    ]
    return {"organisations": organisations, "services": services}


def resolve(connection: Connection, who: Reader, now: datetime, calendar: HubCalendar) -> Scope:
    if who.view != "provider":
        key = f"{who.view}|{'|'.join(sorted(who.localities))}"
        if not who.localities:
            return Scope(everything=True, key=key)
        return Scope(
            False,
            query=_locality_query(who.localities),
            key=key,
            loaded=False,
            localities=who.localities,
        )
    services = provider_services(connection, who.organisation_id)
    if not services:
        return Scope(False)
    candidates = set(
        connection.execute(
            select(event_table.c.journey_id).where(
                event_table.c.kind == str(EventKind.OFFER_MADE),
                event_table.c.payload["service_id"].as_string().in_(sorted(services)),
            )
        ).scalars()
    )
    if not candidates:
        return Scope(False)
    facts: dict[str, list[OfferFact]] = defaultdict(list)
    for row in connection.execute(
        select(event_table.c.journey_id, event_table.c.kind, event_table.c.payload)
        .where(
            event_table.c.journey_id.in_(sorted(candidates)),
            event_table.c.kind.in_(OFFER_KIND_VALUES),
        )
        .order_by(event_table.c.position)
    ):
        facts[row.journey_id].append(OfferFact(row.kind, row.payload or {}))
    closed = dict(
        connection.execute(
            select(journey_table.c.id, journey_table.c.closed_at).where(
                journey_table.c.id.in_(sorted(candidates))
            )
        ).all()
    )
    visible: set[str] = set()
    own: set[str] = set()
    for journey_id, journey_facts in facts.items():
        journey_offers = offers(journey_facts)
        if journey_offers.offered_to(closed.get(journey_id), now, calendar) & services:
            visible.add(journey_id)
            own |= journey_offers.offers_of(services)
    return Scope(False, visible, None, frozenset(own), recent=visible)


def may_change(
    connection: Connection,
    who: Reader,
    journey_id: str,
    now: datetime,
    calendar: HubCalendar,
) -> bool:
    """Whether a change to this (existing) journey is within the writer's scope. The role's
    own rules (rules.refusal_for_role) come first; an unknown journey is the rules' to refuse."""
    if who.view == "provider":
        return resolve(connection, who, now, calendar).covers(connection, journey_id)
    if not who.localities:
        return True
    row = connection.execute(
        select(patient_table.c.locality)
        .join(journey_table, journey_table.c.patient_id == patient_table.c.id)
        .where(journey_table.c.id == journey_id)
    ).first()
    return row is None or row.locality in who.localities


def may_refer(who: Reader, locality: str | None) -> bool:
    return who.view != "provider" and (not who.localities or locality in who.localities)


# --- what each device holds -----------------------------------------------------------------------


def hold(connection: Connection, device_id: str, journeys: set[str]) -> None:
    """Note the journeys just sent to a device (in scope: any pending forget is cancelled).

    Two requests of one device at once (a retry beside the first attempt) note the same new
    journeys: the insert lets the one that comes second do nothing, rather than fail."""
    if not journeys:
        return
    known = {
        row.journey_id: row.forget_after
        for row in connection.execute(
            select(held_table.c.journey_id, held_table.c.forget_after).where(
                held_table.c.device_id == device_id,
                held_table.c.journey_id.in_(sorted(journeys)),
            )
        )
    }
    new = [{"device_id": device_id, "journey_id": j} for j in sorted(journeys - known.keys())]
    if new:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(insert(held_table).on_conflict_do_nothing(), new)
    cancelled = sorted(j for j, after in known.items() if after is not None)
    if cancelled:
        connection.execute(
            update(held_table)
            .where(held_table.c.device_id == device_id, held_table.c.journey_id.in_(cancelled))
            .values(forget_after=None)
        )


def reconcile(
    connection: Connection,
    device_id: str,
    scope: Scope,
    since: int,
    cursor: int,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """(forget, fetch) for a device that has pulled up to `since` and is answered up to
    `cursor`: what it holds and may no longer, and what its scope gained that it lacks."""
    pending = select(held_table.c.journey_id).where(
        held_table.c.device_id == device_id, held_table.c.forget_after.is_not(None)
    )
    if connection.execute(pending.limit(1)).first() is not None:
        connection.execute(
            delete(held_table).where(
                held_table.c.device_id == device_id,
                held_table.c.forget_after.is_not(None),
                held_table.c.forget_after < since,
            )
        )
        waiting = connection.execute(pending.limit(1)).first() is not None
    else:
        waiting = False
    stored = connection.execute(
        select(device_table.c.scope_key).where(device_table.c.id == device_id)
    ).scalar()
    if scope.key is not None and scope.key == stored and not waiting:
        return [], []  # the same localities as last time, and nothing left to forget
    if scope.key is not None and scope.key != stored:
        connection.execute(
            update(device_table).where(device_table.c.id == device_id).values(scope_key=scope.key)
        )
    if scope.everything:
        # Widened to every locality (or first seen): whatever recent it lacks, and whatever it
        # was told to forget, it may fetch.
        recent = select(journey_table.c.id).where(
            or_(journey_table.c.closed_at.is_(None), journey_table.c.closed_at >= now - RECENT)
        )
        kept = select(held_table.c.journey_id).where(
            held_table.c.device_id == device_id, held_table.c.forget_after.is_(None)
        )
        back = set(connection.execute(pending).scalars())
        if stored is not None:
            back |= set(connection.execute(recent.where(journey_table.c.id.not_in(kept))).scalars())
        hold(connection, device_id, back)
        return [], sorted(back)
    scope.load(connection, now)
    held = dict(
        connection.execute(
            select(held_table.c.journey_id, held_table.c.forget_after).where(
                held_table.c.device_id == device_id
            )
        ).all()
    )
    forget = sorted(j for j in held if j not in scope.journeys)
    fetch = sorted(j for j in scope.recent if j not in held or held[j] is not None)
    first = [j for j in forget if held[j] is None]
    if first:
        # The cursor of the first answer that says so: once the device has pulled past it, it
        # has stored an answer that told it to forget (every answer since has said so too).
        connection.execute(
            update(held_table)
            .where(held_table.c.device_id == device_id, held_table.c.journey_id.in_(first))
            .values(forget_after=cursor)
        )
    hold(connection, device_id, set(fetch))
    return forget, fetch
