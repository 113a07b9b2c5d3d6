"""Immutable view objects the Hub hands to screens and the CLI: never live ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from d2a_tui.domain.events import Event
from d2a_tui.domain.offers import Offer


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a board card, a list row or an alert needs about one journey."""

    journey_id: str
    column: str
    pathway: str | None
    nhs_number: str
    name: str
    date_of_birth: date
    ward: str | None
    bed: str | None
    admitted_on: date | None
    referred_at: datetime
    entered_column_at: datetime
    discharge_ready_date: date | None
    expected_discharge_date: date | None
    delay_reason: str | None
    assigned_to: str | None
    outcome: str | None
    discharged_at: datetime | None
    closed_at: datetime | None
    acknowledged_until: datetime | None
    notes: int
    version: int
    updated_at: datetime
    updated_by: str
    change_position: int
    # The offer the card shows (`domain.offers.shown_offer`) and its service's name, if any.
    offer: Offer | None = None
    offer_service: str | None = None
    # The hospital's own record of the person leaving (its ADT feed), while the hub decides.
    left_hospital_at: datetime | None = None

    @property
    def short_id(self) -> str:
        return self.journey_id[:8]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.name.split() if part).upper()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    position: int
    event: Event
    recorded_at: datetime
    device_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event.event_id,
            "position": self.position,
            "seq": self.event.seq,
            "kind": str(self.event.kind),
            "actor": self.event.actor,
            "device_id": self.device_id,
            "occurred_at": self.event.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "payload": self.event.payload,
        }


@dataclass(frozen=True, slots=True)
class JourneyView:
    card: Card
    locality: str | None
    timeline: tuple[TimelineEntry, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """What a command did: the event it appended and the journey as it now stands."""

    event: Event
    card: Card
    position: int
