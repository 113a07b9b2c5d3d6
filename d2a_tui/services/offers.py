"""The offer desk: hand-offs to providers' services and their answers.

The Hub carries one as `hub.offers`. Every change is a journey command through the Hub's one
command runner (so a replica queues it and the server judges it by the same rules); the lists
are folds of the offer events, turned into plain views for the screens and the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, select

from d2a_tui.domain.errors import D2AError, NotAllowed, NotFound
from d2a_tui.domain.offers import ACCEPTED, Offer, ServiceRef, offer_level
from d2a_tui.domain.stuck import Level
from d2a_tui.domain.views import Card
from d2a_tui.storage.context import HubContext
from d2a_tui.storage.event_log import translated_errors
from d2a_tui.storage.offers import read_offers, resolve_offer, services, user_table

if TYPE_CHECKING:
    from d2a_tui.domain.views import Change
    from d2a_tui.reports.offers import OffersToday
    from d2a_tui.services.capacity import CapacityDesk, ServiceStatus


class OfferHost(HubContext, Protocol):
    """The hub as the desk sees it: its context, its capacity desk (vacancies beside each
    service) and its one command runner (every answer is a journey command)."""

    @property
    def capacity(self) -> CapacityDesk: ...
    def _run(self, command: str, args: dict[str, Any], journey_id: str | None = None) -> Change: ...


@dataclass(frozen=True, slots=True)
class OfferView:
    """An offer with what a list of offers shows beside it: the person, the service, its clock."""

    offer: Offer
    card: Card
    service: ServiceRef | None
    level: Level

    @property
    def service_name(self) -> str:
        return self.service.name if self.service else self.offer.service_id


@dataclass(frozen=True, slots=True)
class ProviderView:
    """What a provider's board shows: offers waiting (oldest first), accepted (by start), those
    starting within the week, and its services' capacity."""

    organisation: str | None
    waiting: list[OfferView]
    accepted: list[OfferView]
    starting_soon: list[OfferView]
    statuses: list[ServiceStatus]


@dataclass(frozen=True, slots=True)
class ServiceChoice:
    """A service the picker offers: one on the journey's pathway, with its vacancies now."""

    service: ServiceRef
    available: int | None  # vacancies open to admissions at the latest report; None: no report
    unit: str
    open_offer: bool  # this person already has an unanswered offer to it


class OfferDesk:
    def __init__(self, hub: OfferHost) -> None:
        self.hub = hub

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        engine = self.hub.store.engine
        with translated_errors(engine), engine.connect() as connection:
            yield connection

    # --- changes -------------------------------------------------------------------------------

    def make(
        self,
        journey_id: str,
        service_id: str,
        *,
        start: date | None = None,
        note: str | None = None,
    ) -> Change:
        args = {
            "service_id": service_id,
            "start": start.isoformat() if start else None,
            "note": note,
        }
        return self.hub._run("offer", args, journey_id)

    def accept(self, reference: str, start: date) -> Change:
        """Accept with a start date; the card moves too if the flow file says so (and the move
        is allowed from where the card is), as its own step after the answer."""
        journey_id, offer_id = self.resolve(reference)
        change = self.hub._run(
            "accept_offer", {"offer_id": offer_id, "start": start.isoformat()}, journey_id
        )
        target = self.hub.flow.offers.accept_moves_to
        if target and self.hub.flow.can_move(change.card.column, target):
            # A provider's replica may not move cards: the answer stands and the hub moves it.
            with suppress(NotAllowed):
                change = self.hub._run("move", {"to": target}, journey_id)
        return change

    def decline(self, reference: str, reason: str, text: str | None = None) -> Change:
        journey_id, offer_id = self.resolve(reference)
        args = {"offer_id": offer_id, "reason": reason, "text": text}
        return self.hub._run("decline_offer", args, journey_id)

    def withdraw(self, reference: str) -> Change:
        journey_id, offer_id = self.resolve(reference)
        return self.hub._run("withdraw_offer", {"offer_id": offer_id}, journey_id)

    def ask(self, reference: str, text: str) -> Change:
        journey_id, offer_id = self.resolve(reference)
        return self.hub._run("ask_offer", {"offer_id": offer_id, "text": text}, journey_id)

    # --- queries -------------------------------------------------------------------------------

    def resolve(self, reference: str) -> tuple[str, str]:
        with self._read() as connection:
            return resolve_offer(connection, reference)

    def services(self) -> dict[str, ServiceRef]:
        with self._read() as connection:
            return services(connection)

    def choices(self, journey_id: str) -> list[ServiceChoice]:
        """The services on the journey's pathway, most vacancies first, with their capacity."""
        card = self.hub.store.card(journey_id)
        if card.pathway is None:
            raise NotAllowed("the journey has no pathway yet: choose one before offering")
        statuses: dict[str, ServiceStatus] = {
            status.service.id: status for status in self.hub.capacity.statuses()
        }
        with self._read() as connection:
            refs = services(connection)
            offered = {
                o.service_id for o in read_offers(connection, journey_ids=[journey_id]) if o.is_open
            }
        out = []
        for ref in refs.values():
            if ref.pathway != card.pathway or not ref.active:
                continue
            status = statuses.get(ref.id)
            latest = status.latest if status else None
            out.append(
                ServiceChoice(
                    ref,
                    latest.available if latest else None,
                    status.service.unit if status else "",
                    ref.id in offered,
                )
            )
        out.sort(key=lambda c: (-(c.available or -1), c.service.name))
        return out

    def list(
        self,
        *,
        service: str | None = None,
        organisation: str | None = None,
        open_only: bool = False,
        journey_ids: list[str] | None = None,
    ) -> list[OfferView]:
        """Offers of open journeys, newest first: all, one service's, or one organisation's."""
        now = self.hub.clock()
        with self._read() as connection:
            refs = services(connection)
            offers = read_offers(connection, journey_ids=journey_ids, open_journeys_only=True)
        if service is not None:
            service = service.strip().lower()
            if service not in refs:
                raise NotFound(f"no service {service!r}")
            offers = [o for o in offers if o.service_id == service]
        if organisation is not None:
            offers = [
                o
                for o in offers
                if o.service_id in refs and refs[o.service_id].organisation_id == organisation
            ]
        if open_only:
            offers = [o for o in offers if o.is_open]
        cards = {card.journey_id: card for card in self.hub.store.open_cards()}
        rules = self.hub.flow.offers
        views = [
            OfferView(o, cards[o.journey_id], refs.get(o.service_id), offer_level(o, now, rules))
            for o in offers
            if o.journey_id in cards
        ]
        views.sort(key=lambda v: v.offer.made_at, reverse=True)
        return views

    def today(self) -> OffersToday:
        """The dashboard's figures: waiting now by clock level, answered today by outcome."""
        from d2a_tui.reports.offers import offers_today

        hub = self.hub
        return offers_today(hub.store.engine, hub.clock(), hub.calendar, hub.flow.offers)

    # --- the provider's own view ---------------------------------------------------------------

    def acting(self) -> tuple[str | None, str | None]:
        """The user's role and organisation: a replica's login says the role; a database's user
        record says both, where there is one."""
        sync = getattr(self.hub, "sync", None)  # a replica's: its login says the role
        role = sync.login.role if sync is not None else None
        with self._read() as connection:
            row = connection.execute(
                select(user_table.c.role, user_table.c.organisation_id).where(
                    user_table.c.id == self.hub.actor.user
                )
            ).first()
        if row is None:
            return role, None
        return role or row.role, row.organisation_id

    def is_provider(self) -> bool:
        try:
            return self.acting()[0] == "provider"
        except D2AError:
            return False  # the board opens and shows the outage banner instead

    def provider_view(self, soon_days: int = 7) -> ProviderView:
        """A provider's offers (its organisation's services; on a replica, all it holds) and its
        services' capacity."""
        organisation = self.acting()[1]
        offers = self.list(organisation=organisation) if organisation else self.list()
        statuses = [
            s
            for s in self.hub.capacity.statuses()
            if organisation is None or s.service.organisation_id == organisation
        ]
        today = self.hub.calendar.day(self.hub.clock())
        waiting = sorted((v for v in offers if v.offer.is_open), key=lambda v: v.offer.made_at)
        accepted = sorted(
            (v for v in offers if v.offer.status == ACCEPTED),
            key=lambda v: v.offer.start or today,
        )
        soon = [
            v
            for v in accepted
            if v.offer.start is not None and 0 <= (v.offer.start - today).days <= soon_days
        ]
        return ProviderView(organisation, waiting, accepted, soon, statuses)
