"""The one owner of the journey event log: nothing else inserts into `journey_event`.

Every writer appends here: the hub's commands (TUI and CLI), the seed, a replica's local changes
and the server's events it pulls, and the server's ingest. Appending means: check the event
against the domain's field limits (`domain/limits.py`, the same on a replica and on the server),
take the next gap-free position from the counter row (whose row lock orders the writers), write
the event and the journey's projection in the caller's transaction, and turn database errors
into the errors a person can act on, in one place (`translated_errors`). On PostgreSQL every
move of the head is also announced on the `d2a_events` channel (NOTIFY, delivered at commit), so
a server process or board listening there learns of a write made by any other process at once.

The rules themselves (`decide`, `compensate`) are the domain's; this module only makes sure no
event reaches the table without having been through them and the limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from d2a_tui.domain.errors import D2AError, NotAllowed
from d2a_tui.domain.events import Event, EventKind, JourneyState
from d2a_tui.domain.handler import recorded_event
from d2a_tui.domain.limits import check_event_fields
from d2a_tui.storage.db import DatabaseUnavailable, DiskFull, safe_url
from d2a_tui.storage.models import EVENTS_COUNTER, Counter, Journey, JourneyEvent, Patient, table_of

journey_table = table_of(Journey)
event_table = table_of(JourneyEvent)
patient_table = table_of(Patient)
counter_table = table_of(Counter)

# The PostgreSQL channel a new head position is announced on; its payload is the position.
EVENTS_CHANNEL = "d2a_events"

_STATE_FIELDS = [f.name for f in fields(JourneyState)]
# Events that change a patient row beside the journey's (see `EventLog._patient_change`).
_PATIENT_KINDS = frozenset({EventKind.DEMOGRAPHICS_UPDATED, EventKind.PATIENT_MERGED})


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


# --- rows ----------------------------------------------------------------------------------------


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


def event_from_row(row: Any) -> Event:
    return recorded_event(
        event_id=row.event_id,
        journey_id=row.journey_id,
        kind=EventKind(row.kind),
        payload=row.payload,
        actor=row.actor,
        occurred_at=row.occurred_at,
        seq=row.seq,
    )


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


def patient_row(patient: dict[str, Any]) -> dict[str, Any]:
    """The patient row a referral (or a merge's surviving patient) brings."""
    return {
        "id": patient["id"],
        "nhs_number": patient["nhs_number"],
        "name": patient["name"],
        "family_name": patient.get("family_name"),
        "date_of_birth": date.fromisoformat(patient["date_of_birth"]),
        "locality": patient.get("locality"),
    }


def check(event: Event, now: datetime | None) -> None:
    """The field limits; raises `FieldRejected` (an InvalidInput) naming the first one broken."""
    check_event_fields(event.payload, event.actor, event.occurred_at, now)


# --- database errors, translated once -------------------------------------------------------------


@contextmanager
def translated_errors(engine: Engine) -> Iterator[None]:
    """A database error as a person can act on it; nothing was saved in either case."""
    try:
        yield
    except IntegrityError as error:
        # A unique id used twice, or two writers past the version check on a backend without
        # the counter lock (should not happen): a refusal rather than a traceback.
        raise NotAllowed(
            f"the change clashed with another one and was not saved ({brief(error)})"
        ) from None
    except (OperationalError, DBAPIError) as error:
        if _disk_full(error):
            raise DiskFull(
                "the disk is full: nothing was saved; free some space and retry"
            ) from None
        raise DatabaseUnavailable(
            f"database {safe_url(str(engine.url))} is unavailable: {brief(error)}; nothing was saved"
        ) from None


def brief(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


def _disk_full(error: Exception) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return "database or disk is full" in text or "no space left" in text or "disk full" in text


# --- appending -----------------------------------------------------------------------------------


class EventLog:
    """The event log within one transaction (`connection`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock(self) -> int:
        """Take the counter's row lock (writers queue here) and return the head position."""
        head: int = self.connection.execute(_LOCK).scalar_one()
        return head

    def head(self) -> int:
        """The head as committed (no lock): every position up to it is readable."""
        head: int = self.connection.execute(_HEAD).scalar_one()
        return head

    def reserve(self, count: int = 1) -> int:
        """Move the head on by `count` positions; returns the last one reserved."""
        statement = _RESERVE_ANNOUNCED if self._announces else _RESERVE
        head: int = self.connection.execute(statement, {"count": count}).scalar_one()
        return head

    @property
    def takes_position_last(self) -> bool:
        """Whether a writer may read and decide before taking the counter, checking what it read
        (the journey row's version) when it writes. PostgreSQL: yes, so the lock is held for the
        writes alone (issue 25 §2). SQLite has one writer at a time anyway, and a transaction
        that read before it writes can fail to upgrade to the write lock: it locks first."""
        return self.connection.dialect.name == "postgresql"

    def append_next(
        self,
        event: Event,
        old: JourneyState,
        new: JourneyState,
        device_id: str,
        recorded_at: datetime,
    ) -> int:
        """Take the next position and append a change to an existing journey at it; returns
        the position. `old` is the journey as the caller read it, before taking the counter:
        if the row's version has moved since, nothing is written and `VersionConflict` says who
        moved it. On PostgreSQL one statement does it all (the counter, the version-checked
        projection, the event and the announcement), so the counter's row lock is held for that
        one statement and the commit, not for a round trip to a client per statement."""
        if not self.takes_position_last or event.kind in _PATIENT_KINDS:
            position = self.reserve()
            self.append(event, old, new, position, device_id, recorded_at)
            return position
        check(event, recorded_at)
        values = {f"j_{name}": value for name, value in row_from_state(new, 0).items()}
        values.update(
            {
                f"e_{name}": value
                for name, value in row_from_event(event, 0, device_id, recorded_at).items()
            }
        )
        written = self.connection.execute(
            _APPEND_NEXT, {"_id": new.id, "_version": old.version, **values}
        ).first()
        if written is None:  # the version check found no row: nothing was written
            raise self._conflict(new.id, old, recorded_at)
        return int(written.position)

    def _conflict(self, journey_id: str, old: JourneyState, at: datetime) -> VersionConflict:
        row = self.connection.execute(
            journey_table.select().where(journey_table.c.id == journey_id)
        ).first()
        current = state_from_row(row) if row is not None else old
        return VersionConflict(
            journey_id,
            old.version,
            current.version,
            current.updated_by or "?",
            current.updated_at or at,
        )

    def set_head(self, position: int) -> None:
        statement = _SET_HEAD_ANNOUNCED if self._announces else _SET_HEAD
        self.connection.execute(statement, {"position": position})

    @property
    def _announces(self) -> bool:
        # The announcement rides in the counter update's RETURNING, inside the transaction:
        # PostgreSQL delivers it on commit and drops it on rollback, so a listener never hears
        # of a position it cannot yet read, and it costs no round trip of its own.
        return self.connection.dialect.name == "postgresql"

    def append(
        self,
        event: Event,
        old: JourneyState | None,
        new: JourneyState,
        position: int,
        device_id: str,
        recorded_at: datetime,
    ) -> None:
        """One event and the projection it makes, after the limits; `old` is the journey as
        the caller read it (None for a referral), checked again against the row."""
        check(event, recorded_at)
        merged = event.kind is EventKind.PATIENT_MERGED
        if merged:
            # The surviving patient's row before the journey points at it: PostgreSQL checks the
            # journey's foreign key at the statement, not at the commit.
            self._patient_change(event)
        if old is None:
            patient = event.payload["patient"]
            if not patient.get("existing"):
                self.connection.execute(_PATIENT_INSERT, patient_row(patient))
            self.connection.execute(_JOURNEY_INSERT, row_from_state(new, position))
        else:
            result = self.connection.execute(
                _JOURNEY_UPDATE,
                {"_id": new.id, "_version": old.version, **row_from_state(new, position)},
            )
            if result.rowcount != 1:
                row = self.connection.execute(
                    journey_table.select().where(journey_table.c.id == new.id)
                ).first()
                current = state_from_row(row) if row is not None else old
                raise VersionConflict(
                    new.id,
                    old.version,
                    current.version,
                    current.updated_by or "?",
                    current.updated_at or recorded_at,
                )
        self.connection.execute(
            _EVENT_INSERT, row_from_event(event, position, device_id, recorded_at)
        )
        if event.kind is EventKind.DEMOGRAPHICS_UPDATED:
            self._patient_change(event)

    def _patient_change(self, event: Event) -> None:
        """The patient row beside an ADT update (a new name) or merge (a surviving patient this
        database has not seen yet), in the event's transaction."""
        payload = event.payload
        if event.kind is EventKind.DEMOGRAPHICS_UPDATED:
            self.connection.execute(
                _DEMOGRAPHICS_UPDATE,
                {
                    "_id": payload["patient_id"],
                    "name": payload["name"],
                    "date_of_birth": date.fromisoformat(payload["date_of_birth"]),
                },
            )
            return
        patient = payload["patient"]
        if not patient.get("existing"):
            self.connection.execute(_PATIENT_INSERT, patient_row(patient))

    def insert_rows(self, rows: list[dict[str, Any]]) -> None:
        """Events already checked and already applied to their journeys' rows by the caller
        (`WriteBehind`, a replica's rebuild): one multi-row insert."""
        if rows:
            self.connection.execute(event_table.insert(), rows)

    def drop(self, journey_id: str, event_ids: Iterable[str]) -> None:
        """A replica's provisional events, about to be written again on top of the server's."""
        ids = list(event_ids)
        if ids:
            self.connection.execute(
                delete(event_table).where(
                    event_table.c.journey_id == journey_id, event_table.c.event_id.in_(ids)
                )
            )

    def reread_journeys(self, journey_ids: list[str]) -> None:
        """A replica reading its journeys again from the server (its log was restored from a
        backup): their events go, the journeys and patients stay until rebuilt from the
        server's copy in the same transaction."""
        for start in range(0, len(journey_ids), 500):  # SQLite's limit on bound parameters
            chunk = journey_ids[start : start + 500]
            self.connection.execute(delete(event_table).where(event_table.c.journey_id.in_(chunk)))

    def forget_journeys(self, journey_ids: list[str]) -> None:
        """A replica's retention: these journeys leave this database whole (events, journey,
        and the patient once no journey of theirs is left). The server keeps them."""
        if not journey_ids:
            return
        self.connection.execute(
            delete(event_table).where(event_table.c.journey_id.in_(journey_ids))
        )
        self.connection.execute(delete(journey_table).where(journey_table.c.id.in_(journey_ids)))
        self.connection.execute(
            delete(patient_table).where(
                ~exists().where(journey_table.c.patient_id == patient_table.c.id)
            )
        )

    # --- a history at once (the seed) ------------------------------------------------------------

    def bulk_load(
        self,
        patients: list[dict[str, Any]],
        journeys: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> None:
        """Whole generated histories, replayed by the caller: each event is checked, then the
        rows go in by COPY (PostgreSQL) or the driver's executemany (SQLite), which is what
        makes a seeded region year take minutes rather than hours."""
        for row in events:
            check_event_fields(row["payload"], row["actor"], row["occurred_at"], None)
        if self.connection.dialect.name == "postgresql":
            _copy(self.connection, "patient", patients)
            _copy(self.connection, "journey", journeys)
            _copy(self.connection, "journey_event", events)
        else:
            _insert_sqlite(self.connection, "patient", patients)
            _insert_sqlite(self.connection, "journey", journeys)
            _insert_sqlite(self.connection, "journey_event", events)


class WriteBehind:
    """Events appended behind while the caller holds the counter lock (the server's ingest of a
    push, an import's thousands of commands): their events in one multi-row insert and each
    journey's row once, with its final state, at `flush`. No other writer can move the counter
    or change a journey meanwhile, so what was written is what the rows hold. Whatever reads the
    event, patient or journey tables in the meantime flushes first.

    A referral is written at once, unless `defer_referrals` (the import): then its new patient
    and its journey go in the flush's multi-row inserts too, and reads of them must flush first
    as well. A change to a patient row (an ADT update, a merge) is always written at once."""

    def __init__(self, log: EventLog, position: int, *, defer_referrals: bool = False) -> None:
        self.log = log
        self.position = position
        self.defer_referrals = defer_referrals
        self.states: dict[str, JourneyState] = {}
        self._events: list[dict[str, Any]] = []
        # journey id -> (the version its row holds now, its newest state, that event's position)
        self._journeys: dict[str, tuple[int, JourneyState, int]] = {}
        self._new: set[str] = set()  # journeys referred since the last flush: inserted, not updated
        self._patients: list[dict[str, Any]] = []

    def next_position(self) -> int:
        self.position += 1
        return self.position

    def append(
        self,
        event: Event,
        old: JourneyState | None,
        new: JourneyState,
        device_id: str,
        recorded_at: datetime,
    ) -> int:
        """`EventLog.append`, written behind where it can be; the event's position, taken only
        once it is within the limits (a push goes on after a refused mutation, gap-free)."""
        check(event, recorded_at)
        position = self.next_position()
        self.states[new.id] = new
        if event.kind in _PATIENT_KINDS or (old is None and not self.defer_referrals):
            self.flush()  # the rows first hold what is pending, as the write expects
            self.log.append(event, old, new, position, device_id, recorded_at)
            return position
        if old is None:
            patient = event.payload["patient"]
            if not patient.get("existing"):
                self._patients.append(patient_row(patient))
            self._new.add(new.id)
            stored_version = 0  # no row yet
        else:
            stored_version = self._journeys.get(new.id, (old.version,))[0]
        self._journeys[new.id] = (stored_version, new, position)
        self._events.append(row_from_event(event, position, device_id, recorded_at))
        return position

    def flush(self) -> None:
        connection = self.log.connection
        if self._patients:
            connection.execute(_PATIENT_INSERT, self._patients)
            self._patients = []
        inserts = [
            row_from_state(state, position)
            for journey_id, (_, state, position) in self._journeys.items()
            if journey_id in self._new
        ]
        if inserts:
            connection.execute(_JOURNEY_INSERT, inserts)
        updates = [
            {"_id": journey_id, "_version": version, **row_from_state(state, position)}
            for journey_id, (version, state, position) in self._journeys.items()
            if journey_id not in self._new
        ]
        if updates:
            done = connection.execute(_JOURNEY_UPDATE, updates)
            if connection.dialect.supports_sane_multi_rowcount and done.rowcount != len(updates):
                # Cannot happen while the counter lock is held; if it does, apply nothing.
                raise RuntimeError("a journey changed under the batch's lock")
        self._journeys.clear()
        self._new.clear()
        if self._events:
            self.log.insert_rows(self._events)
            self._events = []


# Every statement of the write path is built once, here: building one per call (`.values(**row)`)
# and working out its cache key again was a third of the time of appending an event. Executed
# with a dict of parameters, an INSERT or UPDATE without `.values()` writes the columns named.
_JOURNEY_UPDATE = update(journey_table).where(
    journey_table.c.id == bindparam("_id"), journey_table.c.version == bindparam("_version")
)
_JOURNEY_INSERT = journey_table.insert()
_EVENT_INSERT = event_table.insert()
_PATIENT_INSERT = patient_table.insert()
_DEMOGRAPHICS_UPDATE = update(patient_table).where(patient_table.c.id == bindparam("_id"))
_COUNTER = update(counter_table).where(counter_table.c.name == EVENTS_COUNTER)
_HEAD = select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
_LOCK = _COUNTER.values(value=counter_table.c.value).returning(counter_table.c.value)
_MOVE_ON = _COUNTER.values(value=counter_table.c.value + bindparam("count"))
_RESERVE = _MOVE_ON.returning(counter_table.c.value)
_SET_HEAD = _COUNTER.values(value=bindparam("position"))
_ANNOUNCE_HEAD = func.pg_notify(EVENTS_CHANNEL, cast(counter_table.c.value, String))
_RESERVE_ANNOUNCED = _MOVE_ON.returning(counter_table.c.value, _ANNOUNCE_HEAD)
_SET_HEAD_ANNOUNCED = _SET_HEAD.returning(_ANNOUNCE_HEAD)


# `append_next` on PostgreSQL, one statement: move the counter on (its row lock, held to the
# commit, is what orders the writers), update the journey's row to the new state provided its
# version is still the one the writer read, and insert the event at the counter's new value only
# if that update found the row. The counter is the first lock the statement takes (the journey's
# update reads its value), as in every other writer, so two writers never wait on each other in
# opposite orders. The announcement rides in the insert's RETURNING: no event, no announcement.
_NEXT_HEAD = (
    update(counter_table)
    .where(counter_table.c.name == EVENTS_COUNTER)
    .values(value=counter_table.c.value + 1)
    .returning(counter_table.c.value.label("position"))
    .cte("next_head")
)
_EVENT_COLUMNS = [
    "event_id", "journey_id", "seq", "kind", "payload", "actor", "device_id", "occurred_at",
    "recorded_at",
]  # fmt: skip
_STATE_COLUMNS = [
    column.name
    for column in journey_table.c
    if column.name in {*_STATE_FIELDS, "column_id"} and column.name != "change_position"
]
_CHANGED = (
    update(journey_table)
    .where(journey_table.c.id == bindparam("_id"), journey_table.c.version == bindparam("_version"))
    .values(
        {
            **{
                name: bindparam(f"j_{name}", type_=journey_table.c[name].type)
                for name in _STATE_COLUMNS
            },
            "change_position": select(_NEXT_HEAD.c.position).scalar_subquery(),
        }
    )
    .returning(journey_table.c.id)
    .cte("changed")
)
_APPEND_NEXT = (
    event_table.insert()
    .from_select(
        ["position", *_EVENT_COLUMNS],
        select(
            _NEXT_HEAD.c.position,
            *(bindparam(f"e_{name}", type_=event_table.c[name].type) for name in _EVENT_COLUMNS),
        ).select_from(_NEXT_HEAD.join(_CHANGED, true())),
    )
    .returning(
        event_table.c.position, func.pg_notify(EVENTS_CHANNEL, cast(event_table.c.position, String))
    )
)


def _insert_sqlite(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain executemany on the driver: SQLAlchemy's per-value type processing is most of the
    cost of a seeded year. Values are written in the exact text forms SQLAlchemy reads back."""
    if not rows:
        return
    columns = list(rows[0])
    raw = connection.connection.dbapi_connection
    assert raw is not None
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    raw.executemany(sql, [[_sqlite_value(row[column]) for column in columns] for row in rows])


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # isoformat is several times faster than strftime, and SQLAlchemy reads both forms.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _copy(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY: an order of magnitude faster than INSERTs for a year of history."""
    if not rows:
        return
    columns = list(rows[0])
    import psycopg

    raw = connection.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)  # COPY is PostgreSQL's, through psycopg 3
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([_copy_value(row[column]) for column in columns])


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
