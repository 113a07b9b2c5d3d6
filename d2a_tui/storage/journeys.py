"""Command handlers and queries for journeys.

A command runs in one transaction: take the event counter's row lock (so writers queue and every
event gets a gap-free, commit-ordered position), read the journey, let the domain decide, append
the event and update the projection, both or neither. The optimistic `version` check is made after
the lock, against what is really stored, so a stale screen can never overwrite a newer change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.commands import compensate, decide
from d2a_tui.domain.errors import D2AError, InvalidInput, NotAllowed, NotFound
from d2a_tui.domain.events import Event, EventKind, JourneyState, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.domain.nhs_number import format_nhs_number
from d2a_tui.storage.db import DatabaseUnavailable, safe_url
from d2a_tui.storage.models import EVENTS_COUNTER, Counter, Journey, JourneyEvent, Patient
from d2a_tui.views import Card, JourneyView, TimelineEntry

journey_table = Journey.__table__  # type: ignore[attr-defined]
event_table = JourneyEvent.__table__  # type: ignore[attr-defined]
patient_table = Patient.__table__  # type: ignore[attr-defined]
counter_table = Counter.__table__  # type: ignore[attr-defined]

_STATE_FIELDS = [f.name for f in fields(JourneyState)]
_CARD_COLUMNS = [
    journey_table.c.id.label("journey_id"),
    journey_table.c.column_id.label("column"),
    journey_table.c.pathway,
    patient_table.c.nhs_number,
    patient_table.c.name,
    patient_table.c.date_of_birth,
    journey_table.c.ward,
    journey_table.c.bed,
    journey_table.c.admitted_on,
    journey_table.c.referred_at,
    journey_table.c.entered_column_at,
    journey_table.c.discharge_ready_date,
    journey_table.c.expected_discharge_date,
    journey_table.c.delay_reason,
    journey_table.c.assigned_to,
    journey_table.c.outcome,
    journey_table.c.discharged_at,
    journey_table.c.closed_at,
    journey_table.c.acknowledged_until,
    journey_table.c.notes,
    journey_table.c.version,
    journey_table.c.updated_at,
    journey_table.c.updated_by,
    journey_table.c.change_position,
]


@dataclass(frozen=True, slots=True)
class Actor:
    user: str
    device_id: str


class VersionConflict(D2AError):
    """Someone else changed the journey after the user last saw it. Nothing was saved."""

    def __init__(
        self, journey_id: str, expected: int, actual: int, changed_by: str, changed_at: datetime
    ):
        self.journey_id = journey_id
        self.expected = expected
        self.actual = actual
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(
            f"journey {journey_id[:8]} was changed by {changed_by} at "
            f"{changed_at.astimezone().strftime('%d %b %H:%M')} (now version {actual}, you saw {expected}); "
            "nothing was saved: look again and retry"
        )


def state_from_row(row: Any) -> JourneyState:
    mapping = row._mapping if isinstance(row, Row) else row
    values = {
        name: mapping[name] for name in _STATE_FIELDS if name not in ("column",) and name in mapping
    }
    values["column"] = mapping["column_id"]
    return JourneyState(**values)


def row_from_state(state: JourneyState, change_position: int) -> dict[str, Any]:
    values = {name: getattr(state, name) for name in _STATE_FIELDS}
    values["column_id"] = values.pop("column")
    values["change_position"] = change_position
    return values


def row_from_event(
    event: Event, position: int, device_id: str, recorded_at: datetime
) -> dict[str, Any]:
    """The journey_event row for an event: the one mapping every writer uses."""
    return {
        "position": position,
        "event_id": event.event_id,
        "journey_id": event.journey_id,
        "seq": event.seq,
        "kind": str(event.kind),
        "payload": event.payload,
        "actor": event.actor,
        "device_id": device_id,
        "occurred_at": event.occurred_at,
        "recorded_at": recorded_at,
    }


def event_from_row(row: Any) -> Event:
    return Event(
        event_id=row.event_id,
        journey_id=row.journey_id,
        kind=EventKind(row.kind),
        payload=row.payload,
        actor=row.actor,
        occurred_at=row.occurred_at,
        seq=row.seq,
    )


def card_from_row(row: Any) -> Card:
    return Card(**row._mapping)


@dataclass(frozen=True, slots=True)
class Applied:
    event: Event
    state: JourneyState
    position: int


# Called as (work, command, args as given, state before, applied, undo_event_id).
AppliedHook = Callable[
    ["UnitOfWork", str, dict[str, Any], JourneyState | None, Applied, str | None], None
]


class UnitOfWork:
    """One transaction's worth of commands; see the module docstring for the locking order."""

    def __init__(
        self,
        connection: Connection,
        flow: Flow,
        on_applied: AppliedHook | None = None,
        calendar: HubCalendar = LONDON,
    ) -> None:
        self.connection = connection
        self.flow = flow
        self.calendar = calendar
        # Sync: a replica queues each change in its outbox here, inside the same transaction.
        self.on_applied = on_applied

    def next_position(self) -> int:
        return self.connection.execute(_NEXT_POSITION).scalar_one()

    def load(self, journey_id: str) -> JourneyState:
        row = self.connection.execute(_LOAD_JOURNEY, {"_id": journey_id}).first()
        if row is None:
            raise NotFound(f"no journey {journey_id[:8]}")
        return state_from_row(row)

    def event(self, event_id: str) -> Event:
        row = self.connection.execute(
            select(event_table).where(event_table.c.event_id == event_id)
        ).first()
        if row is None:
            raise NotFound(f"no event {event_id}")
        return event_from_row(row)

    def execute(
        self,
        command: str,
        args: dict[str, Any],
        actor: Actor,
        occurred_at: datetime,
        *,
        journey_id: str | None = None,
        base_version: int | None = None,
        event_id: str | None = None,
        undo_event_id: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Applied:
        """`recorded_at` defaults to `occurred_at`; an import or a feed that back-dates events
        passes the real moment, so "as known at" reports stay honest."""
        position = self.next_position()
        requested_args = args
        if command == "refer":
            state = None
            journey_id = journey_id or new_journey_id()
            args = {
                **args,
                "patient": self._patient_for_referral(args["patient"], self.calendar.day(occurred_at)),
            }
        else:
            if journey_id is None:
                raise InvalidInput(f"{command} needs a journey")
            state = self.load(journey_id)
            if base_version is not None and base_version != state.version:
                raise VersionConflict(
                    journey_id,
                    base_version,
                    state.version,
                    state.updated_by or "?",
                    state.updated_at or occurred_at,
                )
        if undo_event_id is not None:
            assert state is not None
            kind, payload = compensate(state, self.event(undo_event_id))
        else:
            kind, payload = decide(self.flow, state, command, args, self.calendar.day(occurred_at))
        event = Event(
            event_id=event_id or uuid7(),
            journey_id=journey_id,
            kind=kind,
            payload=payload,
            actor=actor.user,
            occurred_at=occurred_at,
            seq=1 if state is None else state.version + 1,
        )
        new_state = apply(state, event)
        self.store(
            event, state, new_state, position, actor.device_id, recorded_at or occurred_at
        )
        applied = Applied(event, new_state, position)
        if self.on_applied is not None:
            self.on_applied(self, command, requested_args, state, applied, undo_event_id)
        return applied

    def store(
        self,
        event: Event,
        old: JourneyState | None,
        new: JourneyState,
        position: int,
        device_id: str,
        recorded_at: datetime,
    ) -> None:
        if old is None:
            patient = event.payload["patient"]
            if not patient.get("existing"):
                self.connection.execute(
                    _INSERT_PATIENT,
                    {
                        "id": patient["id"],
                        "nhs_number": patient["nhs_number"],
                        "name": patient["name"],
                        "date_of_birth": date.fromisoformat(patient["date_of_birth"]),
                        "locality": patient.get("locality"),
                    },
                )
            self.connection.execute(_INSERT_JOURNEY, row_from_state(new, position))
        else:
            result = self.connection.execute(
                _UPDATE_JOURNEY,
                {"_id": new.id, "_version": old.version, **row_from_state(new, position)},
            )
            if result.rowcount != 1:
                current = self.load(new.id)
                raise VersionConflict(
                    new.id,
                    old.version,
                    current.version,
                    current.updated_by or "?",
                    current.updated_at or recorded_at,
                )
        self.connection.execute(
            _INSERT_EVENT, row_from_event(event, position, device_id, recorded_at)
        )
        if event.kind in (EventKind.DEMOGRAPHICS_UPDATED, EventKind.PATIENT_MERGED):
            self._patient_change(event)

    def _patient_change(self, event: Event) -> None:
        """The patient row beside an ADT update (name, date of birth) or merge (a surviving
        patient this database has not seen yet)."""
        payload = event.payload
        if event.kind is EventKind.DEMOGRAPHICS_UPDATED:
            self.connection.execute(
                update(patient_table)
                .where(patient_table.c.id == payload["patient_id"])
                .values(
                    name=payload["name"],
                    date_of_birth=date.fromisoformat(payload["date_of_birth"]),
                )
            )
            return
        patient = payload["patient"]
        if not patient.get("existing"):
            self.connection.execute(
                _INSERT_PATIENT,
                {
                    "id": patient["id"],
                    "nhs_number": patient["nhs_number"],
                    "name": patient["name"],
                    "date_of_birth": date.fromisoformat(patient["date_of_birth"]),
                    "locality": patient.get("locality"),
                },
            )

    def _patient_for_referral(self, patient: dict[str, Any], today: date) -> dict[str, Any]:
        from d2a_tui.domain.nhs_number import normalise

        digits = normalise(str(patient.get("nhs_number", "")))
        existing = self.connection.execute(_PATIENT_BY_NHS, {"_nhs": digits}).first()
        if existing is None:
            return {**patient, "nhs_number": digits, "id": patient.get("id") or new_journey_id()}
        open_journey = self.connection.execute(
            select(journey_table.c.id, journey_table.c.column_id).where(
                journey_table.c.patient_id == existing.id, journey_table.c.closed_at.is_(None)
            )
        ).first()
        if open_journey is not None:
            raise NotAllowed(
                f"NHS number {format_nhs_number(digits)} already has an open journey "
                f"{open_journey.id[:8]} in {self.flow.column(open_journey.column_id).name}"
            )
        dob = patient.get("date_of_birth")
        if dob and str(dob) != existing.date_of_birth.isoformat():
            raise InvalidInput(
                f"NHS number {format_nhs_number(digits)} is on record with a different date of birth"
            )
        return {
            "id": existing.id,
            "nhs_number": digits,
            "name": existing.name,
            "date_of_birth": existing.date_of_birth.isoformat(),
            "locality": existing.locality,
            "existing": True,
        }


# Built once: a statement given its values as parameters is compiled once and cached, where
# `.values(**row)` rebuilds and re-keys the statement for every event (most of a command's time).
_NEXT_POSITION = (
    update(counter_table)
    .where(counter_table.c.name == EVENTS_COUNTER)
    .values(value=counter_table.c.value + 1)
    .returning(counter_table.c.value)
)
_LOAD_JOURNEY = select(journey_table).where(journey_table.c.id == bindparam("_id"))
_INSERT_JOURNEY = journey_table.insert()
_INSERT_EVENT = event_table.insert()
_INSERT_PATIENT = patient_table.insert()
_PATIENT_BY_NHS = select(patient_table).where(patient_table.c.nhs_number == bindparam("_nhs"))
_UPDATE_JOURNEY = update(journey_table).where(
    journey_table.c.id == bindparam("_id"), journey_table.c.version == bindparam("_version")
)


class JourneyStore:
    def __init__(self, engine: Engine, flow: Flow, calendar: HubCalendar = LONDON) -> None:
        self.engine = engine
        self.flow = flow
        self.calendar = calendar
        self.on_applied: AppliedHook | None = None  # set by a sync replica

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self._translated_errors(), self.engine.begin() as connection:
            yield UnitOfWork(connection, self.flow, self.on_applied, self.calendar)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._translated_errors(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as error:
            # Two writers raced past the version check on a backend without the counter lock
            # (should not happen); report it as a conflict-like refusal rather than a traceback.
            raise NotAllowed(
                f"the change clashed with another one and was not saved ({_brief(error)})"
            ) from None
        except (OperationalError, DBAPIError) as error:
            if _disk_full(error):
                raise DatabaseUnavailable(
                    "the disk is full: nothing was saved; free some space and retry"
                ) from None
            raise DatabaseUnavailable(
                f"database {safe_url(str(self.engine.url))} is unavailable: {_brief(error)}; nothing was saved"
            ) from None

    # --- queries -------------------------------------------------------------------------------

    def head_position(self) -> int:
        with self._read() as connection:
            return connection.execute(
                select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
            ).scalar_one()

    def _cards(self, where: Sequence[Any], order: Sequence[Any] = ()) -> list[Card]:
        query = select(*_CARD_COLUMNS).join(
            patient_table, patient_table.c.id == journey_table.c.patient_id
        )
        query = query.where(*where)
        if order:
            query = query.order_by(*order)
        with self._read() as connection:
            return [card_from_row(row) for row in connection.execute(query)]

    def open_cards(
        self,
        *,
        column: str | None = None,
        pathway: str | None = None,
        ward: str | None = None,
        delay_reason: str | None = None,
    ) -> list[Card]:
        where: list[Any] = [journey_table.c.closed_at.is_(None)]
        if column:
            where.append(journey_table.c.column_id == column)
        if pathway:
            where.append(journey_table.c.pathway == pathway)
        if ward:
            where.append(func.lower(journey_table.c.ward) == ward.lower())
        if delay_reason:
            where.append(journey_table.c.delay_reason == delay_reason)
        return self._cards(where, order=[journey_table.c.entered_column_at])

    def cards_changed_since(self, position: int) -> list[Card]:
        """Open or just-closed journeys whose latest event is after `position`."""
        return self._cards([journey_table.c.change_position > position])

    def card(self, journey_id: str) -> Card:
        cards = self._cards([journey_table.c.id == journey_id])
        if not cards:
            raise NotFound(f"no journey {journey_id[:8]}")
        return cards[0]

    def journey(self, journey_id: str) -> JourneyView:
        card = self.card(journey_id)
        with self._read() as connection:
            locality = connection.execute(
                select(patient_table.c.locality)
                .join(journey_table, journey_table.c.patient_id == patient_table.c.id)
                .where(journey_table.c.id == journey_id)
            ).scalar()
            rows = connection.execute(
                select(event_table)
                .where(event_table.c.journey_id == journey_id)
                .order_by(event_table.c.seq)
            ).all()
        timeline = tuple(
            TimelineEntry(row.position, event_from_row(row), row.recorded_at, row.device_id)
            for row in rows
        )
        return JourneyView(card, locality, timeline)

    def events(self, journey_id: str) -> list[Event]:
        return [entry.event for entry in self.journey(journey_id).timeline]

    def state(self, journey_id: str) -> JourneyState:
        with self._read() as connection:
            return UnitOfWork(connection, self.flow).load(journey_id)

    def resolve(self, reference: str) -> str:
        """A journey id from its full id or an unambiguous prefix (at least 4 characters)."""
        prefix = reference.strip().lower()
        if len(prefix) < 4 or any(ch not in "0123456789abcdef-" for ch in prefix):
            raise InvalidInput(
                f"{reference!r} is not a journey id: give at least its first 4 characters"
            )
        with self._read() as connection:
            ids = (
                connection.execute(
                    select(journey_table.c.id).where(journey_table.c.id.like(f"{prefix}%")).limit(6)
                )
                .scalars()
                .all()
            )
        if not ids:
            raise NotFound(f"no journey {reference}")
        if len(ids) > 1:
            shown = ", ".join(i[: len(prefix) + 4] for i in ids[:5])
            raise InvalidInput(
                f"journey prefix {reference!r} is ambiguous: {shown}…; type more of it"
            )
        return ids[0]


def _brief(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


def _disk_full(error: Exception) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return "database or disk is full" in text or "no space left" in text or "disk full" in text
