"""Need-to-know, as pure rules: which services a journey is offered to now, and what of each
event a user of each role may see.

The server (`sync/scope.py`) uses these to choose the journeys it sends and to cut each event
down before it leaves. An event a user may not see at all is sent as `withheld`: it keeps the
journey's count of events whole (a replica follows a journey event by event) and changes nothing.

What each view keeps:
- `full` (coordinator, night): everything.
- `provider`: the person (name, NHS number, date of birth, locality), where they are (ward,
  bed), the ready date, the pathway and the card's column, discharge and closing, and the
  provider's own offers with their notes and answers. Withheld: hub notes, delay reasons,
  expected dates, assignments, acknowledgements, the hospital's discharge messages, and every
  other provider's offers.
- `initials` (viewer): the board's shape with the name cut to initials; no NHS number, no date
  of birth (only its year), no note or offer text.
- `figures` (manager): what reports count; no name, no NHS number, no ward or bed, no text; the
  date of birth only as its year.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.events import EventKind

# An accepted offer keeps the journey in the provider's sight this long after it closes.
AFTER_CLOSE = timedelta(days=14)
OFFER_KINDS = frozenset(
    {
        EventKind.OFFER_MADE,
        EventKind.OFFER_ACCEPTED,
        EventKind.OFFER_DECLINED,
        EventKind.OFFER_WITHDRAWN,
        EventKind.OFFER_QUESTION,
    }
)
VIEWS = ("full", "provider", "initials", "figures")
VIEW_BY_ROLE = {
    "coordinator": "full",
    "night": "full",
    "provider": "provider",
    "viewer": "initials",
    "manager": "figures",
}
# What a provider sees of a referral (and of the patient in it).
PROVIDER_REFERRAL_KEYS = ("patient", "column", "pathway", "ward", "bed", "discharge_ready_date")
PROVIDER_PATIENT_KEYS = (
    "id", "nhs_number", "name", "family_name", "date_of_birth", "locality", "existing",
)  # fmt: skip
# What a viewer or a manager sees of the patient in a referral, each cut down below.
CUT_PATIENT_KEYS = ("id", "nhs_number", "name", "date_of_birth", "locality", "existing")
# Kinds a provider sees as they are: the journey's place on the board and the fields above.
PROVIDER_KINDS = frozenset(
    {
        EventKind.REFERRED,
        EventKind.MOVED,
        EventKind.CLOSED,
        EventKind.REOPENED,
        EventKind.READY_DATE_SET,
        EventKind.WARD_SET,
        EventKind.DEMOGRAPHICS_UPDATED,
    }
)
TEXT_KEYS = ("text", "note")  # free text in a payload: notes, offer notes, questions


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


def pseudonym(patient_id: str) -> str:
    """Stands in for an NHS number where it may not be seen: stable per patient (reports still
    count people once), never a valid NHS number (it is not all digits), and not reversible."""
    return "~" + hashlib.sha256(patient_id.encode()).hexdigest()[:9]


def initials(name: str) -> str:
    return " ".join(part[0].upper() for part in name.replace(",", " ").split() if part)


def _year_only(value: Any) -> Any:
    try:
        return date.fromisoformat(str(value)).replace(month=1, day=1).isoformat()
    except ValueError:
        return value


def _cut_patient(patient: Mapping[str, Any], view: str) -> dict[str, Any]:
    if view == "provider":
        return {key: patient[key] for key in PROVIDER_PATIENT_KEYS if key in patient}
    cut = {key: patient[key] for key in CUT_PATIENT_KEYS if key in patient}
    cut["nhs_number"] = pseudonym(str(patient.get("id", "")))
    cut["name"] = initials(str(patient.get("name", ""))) if view == "initials" else "—"
    if "date_of_birth" in cut:
        cut["date_of_birth"] = _year_only(cut["date_of_birth"])
    return cut


def cut(
    kind: str, payload: Mapping[str, Any], view: str, own_offers: frozenset[str] = frozenset()
) -> tuple[str, dict[str, Any]]:
    """What a user with `view` may see of one event: its kind and payload, or `withheld` and
    an empty payload. `own_offers` are the offers made to the provider's own services."""
    if view == "full":
        return kind, dict(payload)
    if kind in OFFER_KINDS:
        if view == "provider" and payload.get("offer_id") in own_offers:
            return kind, dict(payload)
        if view == "provider":
            return str(EventKind.WITHHELD), {}
        # Reports count offers and answers; they need neither the words nor (for a viewer) more.
        return kind, {key: value for key, value in payload.items() if key not in TEXT_KEYS}
    if view == "provider":
        if kind not in PROVIDER_KINDS:
            return str(EventKind.WITHHELD), {}
        if kind == EventKind.REFERRED:
            kept = {key: payload[key] for key in PROVIDER_REFERRAL_KEYS if key in payload}
            kept["patient"] = _cut_patient(payload["patient"], view)
            return kind, kept
        return kind, dict(payload)
    changed = {key: ("" if key in TEXT_KEYS else value) for key, value in payload.items()}
    if isinstance(payload.get("patient"), Mapping):
        changed["patient"] = _cut_patient(payload["patient"], view)
    if kind == EventKind.DEMOGRAPHICS_UPDATED:
        changed["name"] = initials(str(payload.get("name", ""))) if view == "initials" else "—"
        changed["date_of_birth"] = _year_only(payload.get("date_of_birth"))
    if view == "figures":
        for key in ("ward", "bed"):
            if key in changed:
                changed[key] = None
    return kind, changed
