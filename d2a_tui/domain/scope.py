"""Need-to-know, as pure rules: which services a journey is offered to now (the offer rules
below) and what of each event a user of each role may see (the allow-list in `need_to_know.py`,
re-exported here for the server's scope module).

The server (`sync/scope.py`) uses these to choose the journeys it sends and to cut each event
down before it leaves. An event a user may not see at all is sent as `withheld`: it keeps the
journey's count of events whole (a replica follows a journey event by event) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from d2a_tui.domain import need_to_know
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.events import EventKind

# An accepted offer keeps the journey in the provider's sight this long after it closes.
AFTER_CLOSE = timedelta(days=14)
OFFER_KINDS = need_to_know.OFFER_KINDS  # one list of the offer kinds
# What each view keeps of each event is the allow-list's (need_to_know.py): one table.
VIEWS = need_to_know.VIEWS
VIEW_BY_ROLE = need_to_know.VIEW_BY_ROLE


@dataclass(frozen=True, slots=True)
class OfferFact:
    """One journey event, as much as the offer rules need."""

    kind: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Offers:
    """A journey's offers: each offer's service and where it stands."""

    service_of: dict[str, str]  # offer_id -> service_id
    status: dict[str, str]  # offer_id -> open | accepted | declined | withdrawn

    def offered_to(
        self, closed_at: datetime | None, now: datetime, calendar: HubCalendar
    ) -> set[str]:
        """The services that may see the journey at `now`: an open offer's, and an accepted
        one's until AFTER_CLOSE days (on the hub's calendar) after the journey closed."""
        still_after_close = closed_at is None or calendar.day(now) <= calendar.day(
            closed_at
        ) + timedelta(days=AFTER_CLOSE.days)
        seen: set[str] = set()
        for offer_id, status in self.status.items():
            if status == "open" or (status == "accepted" and still_after_close):
                seen.add(self.service_of[offer_id])
        return seen

    def offers_of(self, services: Iterable[str]) -> set[str]:
        wanted = set(services)
        return {offer for offer, service in self.service_of.items() if service in wanted}


def offers(events: Iterable[OfferFact]) -> Offers:
    """Fold a journey's offer events (in order) into its offers. Answers name the offer; an
    answer to an offer this journey never made is ignored (the writer refuses those)."""
    service_of: dict[str, str] = {}
    status: dict[str, str] = {}
    for event in events:
        offer_id = event.payload.get("offer_id")
        if not isinstance(offer_id, str):
            continue
        if event.kind == EventKind.OFFER_MADE:
            service = event.payload.get("service_id")
            if isinstance(service, str):
                service_of[offer_id] = service
                status[offer_id] = "open"
        elif offer_id in status:
            if event.kind == EventKind.OFFER_ACCEPTED:
                status[offer_id] = "accepted"
            elif event.kind == EventKind.OFFER_DECLINED:
                status[offer_id] = "declined"
            elif event.kind == EventKind.OFFER_WITHDRAWN:
                status[offer_id] = "withdrawn"
    return Offers(service_of, status)


pseudonym = need_to_know.pseudonym
initials = need_to_know.initials
cut = need_to_know.cut
