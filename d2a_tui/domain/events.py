"""Journey events and the one function that folds them into a journey's state.

Events describe themselves (a move carries the pathway and whether it was a discharge) so that
replaying the log gives the same state even after a locality edits its flow file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    REFERRED = "referred"
    MOVED = "moved"
    DELAY_SET = "delay_set"
    DELAY_CLEARED = "delay_cleared"
    READY_DATE_SET = "ready_date_set"
    EXPECTED_DATE_SET = "expected_date_set"
    WARD_SET = "ward_set"
    NOTE_ADDED = "note_added"
    NOTE_RETRACTED = "note_retracted"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    REOPENED = "reopened"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    # From the hospital's ADT feed (d2a_tui/interop/adt.py):
    ADMISSION_RECORDED = "admission_recorded"
    HOSPITAL_DISCHARGE_RECORDED = "hospital_discharge_recorded"
    DEMOGRAPHICS_UPDATED = "demographics_updated"
    PATIENT_MERGED = "patient_merged"
    # Hand-offs to providers (d2a_tui/domain/offers.py): the offer and its answer are part of the
    # journey's history; none of them moves the card by itself.
    OFFER_MADE = "offer_made"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_WITHDRAWN = "offer_withdrawn"
    OFFER_QUESTION = "offer_question"
    # An event the user's role may not see (d2a_tui/domain/scope.py): the server sends this in
    # its place, so a replica's journey keeps its count of events and changes nothing.
    WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a journey: what happened, to which journey, who did it and when."""

    event_id: str
    journey_id: str
    kind: EventKind
    payload: dict[str, Any]
    actor: str
    occurred_at: datetime
    seq: int  # the journey's version once this event is applied: 1 for the referral


@dataclass(frozen=True, slots=True)
class JourneyState:
    id: str
    patient_id: str
    column: str
    pathway: str | None
    ward: str | None
    bed: str | None
    admitted_on: date | None
    referred_at: datetime
    entered_column_at: datetime
    discharge_ready_date: date | None = None
    expected_discharge_date: date | None = None
    delay_reason: str | None = None
    delay_since: datetime | None = None
    assigned_to: str | None = None
    outcome: str | None = None
    destination: str | None = None
    discharged_at: datetime | None = None
    # When the hospital's own system (its ADT feed) says the person left: a fact the hub acts
    # on, kept apart from `discharged_at`, which the hub's move sets and the figures count.
    left_hospital_at: datetime | None = None
    closed_at: datetime | None = None
    notes: int = 0
    version: int = 1
    updated_at: datetime | None = None
    updated_by: str | None = None
    acknowledged_until: datetime | None = field(default=None)
    # The patient's locality at referral, on the journey itself so that one locality's board in
    # a database many share is one index range (migration 0016).
    locality: str | None = None


class ReplayError(ValueError):
    """The event cannot follow the state it is applied to: the log is out of order or corrupt."""


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def apply(state: JourneyState | None, event: Event) -> JourneyState:
    """The journey after `event`. Pure: the same events always give the same state."""
    payload = event.payload
    if event.kind is EventKind.REFERRED:
        if state is not None:
            raise ReplayError(f"journey {event.journey_id} is referred twice")
        if event.seq != 1:
            raise ReplayError("a referral must be a journey's first event")
        return JourneyState(
            id=event.journey_id,
            patient_id=payload["patient"]["id"],
            column=payload["column"],
            pathway=payload.get("pathway"),
            ward=payload.get("ward"),
            bed=payload.get("bed"),
            admitted_on=_date(payload.get("admitted_on")),
            referred_at=event.occurred_at,
            entered_column_at=event.occurred_at,
            discharge_ready_date=_date(payload.get("discharge_ready_date")),
            expected_discharge_date=_date(payload.get("expected_discharge_date")),
            locality=payload["patient"].get("locality"),
            version=1,
            updated_at=event.occurred_at,
            updated_by=event.actor,
        )
    if state is None:
        raise ReplayError(f"{event.kind} before the journey was referred")
    if event.seq != state.version + 1:
        raise ReplayError(f"event seq {event.seq} does not follow version {state.version}")
    changes = _changes(state, event)
    return replace(
        state, **changes, version=event.seq, updated_at=event.occurred_at, updated_by=event.actor
    )


def _changes(state: JourneyState, event: Event) -> dict[str, Any]:
    payload, at = event.payload, event.occurred_at
    match event.kind:
        case EventKind.MOVED | EventKind.CLOSED | EventKind.REOPENED:
            if payload["from"] != state.column:
                raise ReplayError(f"move from {payload['from']} but journey is in {state.column}")
            # An undone move restores the clock the journey had (`entered_at`); a move starts it.
            entered = _datetime(payload.get("entered_at")) or at
            changes: dict[str, Any] = {"column": payload["to"], "entered_column_at": entered}
            if "pathway" in payload:
                changes["pathway"] = payload["pathway"]
            if payload.get("discharged") and state.discharged_at is None:
                changes["discharged_at"] = at
            if event.kind is EventKind.CLOSED:
                changes |= {
                    "outcome": payload["outcome"],
                    "destination": payload.get("destination"),
                    "closed_at": at,
                }
            if event.kind is EventKind.REOPENED:
                changes |= {"outcome": None, "destination": None, "closed_at": None}
            if payload.get("undischarged"):
                # Back in a hospital column: a stay resumed, not the one the hospital ended.
                changes |= {"discharged_at": None, "left_hospital_at": None}
            return changes
        case EventKind.DELAY_SET:
            return {"delay_reason": payload["code"], "delay_since": at}
        case EventKind.DELAY_CLEARED:
            return {"delay_reason": None, "delay_since": None}
        case EventKind.READY_DATE_SET:
            return {"discharge_ready_date": _date(payload.get("date"))}
        case EventKind.EXPECTED_DATE_SET:
            return {"expected_discharge_date": _date(payload.get("date"))}
        case EventKind.WARD_SET:
            return {"ward": payload.get("ward"), "bed": payload.get("bed")}
        case EventKind.NOTE_ADDED:
            return {"notes": state.notes + 1}
        case EventKind.NOTE_RETRACTED:
            return {"notes": max(state.notes - 1, 0)}
        case EventKind.ASSIGNED:
            return {"assigned_to": payload.get("to")}
        case EventKind.ALERT_ACKNOWLEDGED:
            return {"acknowledged_until": _datetime(payload.get("until"))}
        case EventKind.ADMISSION_RECORDED:
            admission = {
                "admitted_on": _date(payload.get("admitted_on")),
                "ward": payload.get("ward"),
                "bed": payload.get("bed"),
            }
            if not payload.get("cancels"):
                admission["left_hospital_at"] = None  # admitted again: in hospital once more
            return admission
        case (
            EventKind.OFFER_MADE
            | EventKind.OFFER_ACCEPTED
            | EventKind.OFFER_DECLINED
            | EventKind.OFFER_WITHDRAWN
            | EventKind.OFFER_QUESTION
            | EventKind.WITHHELD
        ):
            return {}
        case EventKind.HOSPITAL_DISCHARGE_RECORDED:
            # The hospital's discharge informs the hub, which decides the move (an A13 cancel
            # records no time, and takes the flag away).
            return {"left_hospital_at": _datetime(payload.get("at"))}
        case EventKind.DEMOGRAPHICS_UPDATED:
            return {}  # a name or date of birth lives on the patient row, written beside it
        case EventKind.PATIENT_MERGED:
            return {"patient_id": payload["patient"]["id"]}
    raise ReplayError(f"unknown event kind {event.kind!r}")


def replay(events: list[Event]) -> JourneyState:
    state: JourneyState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise ReplayError("no events to replay")
    return state
