"""A replica's local side of sync: the outbox, pulled events, and the rebase of pending changes.

The local database holds the server's events ("confirmed") and, on top, the events of this
device's changes the server has not yet sent back ("provisional": their ids are in the outbox,
unconfirmed). When the server's events for a journey arrive, or the server answers that one of
our changes conflicted, the journey is rebuilt: confirmed events, then our pending changes judged
again by the server's own rule (`rules.judge`). So the user keeps seeing their pending changes,
on top of everyone else's, until the server has decided.

Every method runs in one local transaction that first takes the event counter's lock, like a
local command does: the cursor moves with the events it covers, and settling receipts, absorbing
a page and recording a command never interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.events import Event, EventKind, JourneyState, ReplayError, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.storage.journeys import (
    Applied,
    UnitOfWork,
    counter_table,
    event_from_row,
    event_table,
    journey_table,
    patient_table,
    row_from_state,
)
from d2a_tui.storage.models import EVENTS_COUNTER
from d2a_tui.sync.models import SyncConflict, SyncOutbox, SyncReplica
from d2a_tui.sync.protocol import PulledEvent, Receipt
from d2a_tui.sync.rules import judge, seen_and_want

outbox_table = SyncOutbox.__table__  # type: ignore[attr-defined]
replica_table = SyncReplica.__table__  # type: ignore[attr-defined]
conflict_table = SyncConflict.__table__  # type: ignore[attr-defined]
LIVE = ("pending", "applied")  # statuses whose change still shows locally


@dataclass(frozen=True, slots=True)
class ReplicaState:
    cursor: int
    pending: int
    unconfirmed: int
    conflicts: int
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A change of ours the server did not apply, as the conflicts screen shows it."""

    mutation_id: str
    journey_id: str | None
    outcome: str
    reason: str | None
    message: str | None
    command: str
    args: dict[str, Any]
    seen: dict[str, Any]
    want: dict[str, Any]
    actor: str
    occurred_at: datetime
    theirs_actor: str | None
    theirs_at: datetime | None
    theirs_kind: str | None
    theirs_values: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class Replica:
    def __init__(self, engine: Engine, flow: Flow, device_id: str) -> None:
        self.engine = engine
        self.flow = flow
        self.device_id = device_id
        self.calendar: HubCalendar = LONDON  # the hub's; its rebase checks "today" in its days
        # Set while a conflict is being re-applied: the new mutation names it.
        self.resolving: str | None = None

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            connection.execute(
                update(counter_table)
                .where(counter_table.c.name == EVENTS_COUNTER)
                .values(value=counter_table.c.value)
            )
            yield connection

    # --- the write path ------------------------------------------------------------------------

    def _next_seq(self, connection: Connection) -> int:
        return (
            connection.execute(
                update(replica_table)
                .where(replica_table.c.id == 1)
                .values(next_client_seq=replica_table.c.next_client_seq + 1)
                .returning(replica_table.c.next_client_seq)
            ).scalar_one()
            - 1
        )

    def record(
        self,
        work: UnitOfWork,
        command: str,
        args: dict[str, Any],
        before: JourneyState | None,
        applied: Applied,
        undo_event_id: str | None,
    ) -> None:
        """The outbox hook: called by `UnitOfWork.execute` in the command's own transaction."""
        event = applied.event
        seen, want = seen_and_want(before, applied.state, event.kind)
        if command == "refer":
            # The server must make the same patient and journey: send the ids chosen here.
            args = {**args, "patient": {**args["patient"], "id": event.payload["patient"]["id"]}}
        body: dict[str, Any] = {
            "kind": "command",
            "mutation_id": event.event_id,
            "client_seq": self._next_seq(work.connection),
            "actor": event.actor,
            "occurred_at": event.occurred_at.isoformat(),
            "command": command,
            "journey_id": event.journey_id,
            "args": _jsonable(args),
        }
        if seen:
            body["seen"], body["want"] = seen, want
        if undo_event_id:
            body["undo_event_id"] = undo_event_id
        if self.resolving:
            body["resolves"] = self.resolving
            self._mark_resolved(
                work.connection, self.resolving, "mine", event.event_id, event.occurred_at
            )
        work.connection.execute(
            outbox_table.insert().values(
                mutation_id=event.event_id,
                client_seq=body["client_seq"],
                kind="command",
                journey_id=event.journey_id,
                body=body,
                local_payload=event.payload if command == "refer" else None,
                created_at=event.occurred_at,
                status="pending",
                confirmed=False,
            )
        )

    def record_decision(
        self, conflict_id: str, decision: str, actor: str, occurred_at: datetime, mutation_id: str
    ) -> None:
        """Keep theirs (or dismiss a refusal): a mutation that changes no journey but puts the
        decision in the server's audit trail."""
        with self._locked() as connection:
            row = connection.execute(
                select(conflict_table).where(conflict_table.c.mutation_id == conflict_id)
            ).first()
            if row is None or row.resolved_at is not None:
                from d2a_tui.domain.errors import NotFound

                raise NotFound("no such unresolved conflict")
            seq = self._next_seq(connection)
            body = {
                "kind": "resolve",
                "mutation_id": mutation_id,
                "client_seq": seq,
                "actor": actor,
                "occurred_at": occurred_at.isoformat(),
                "resolves": conflict_id,
                "decision": decision,
            }
            connection.execute(
                outbox_table.insert().values(
                    mutation_id=mutation_id,
                    client_seq=seq,
                    kind="resolve",
                    journey_id=row.journey_id,
                    body=body,
                    created_at=occurred_at,
                    status="pending",
                    confirmed=True,  # it makes no event: nothing to wait for in a pull
                )
            )
            resolution = "theirs" if decision == "keep_theirs" else "dismissed"
            self._mark_resolved(connection, conflict_id, resolution, mutation_id, occurred_at)

    def _mark_resolved(
        self,
        connection: Connection,
        conflict_id: str,
        resolution: str,
        mutation_id: str,
        at: datetime,
    ) -> None:
        connection.execute(
            update(conflict_table)
            .where(conflict_table.c.mutation_id == conflict_id)
            .values(
                resolved_at=at,
                resolution=resolution,
                resolution_mutation_id=mutation_id,
            )
        )

    # --- push side -----------------------------------------------------------------------------

    def pending_batch(self, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    select(outbox_table.c.body)
                    .where(outbox_table.c.status == "pending")
                    .order_by(outbox_table.c.client_seq)
                    .limit(limit)
                ).scalars()
            )

    def settle(self, receipts: list[Receipt], now: datetime) -> None:
        """Store the server's answers; undo locally what it did not apply."""
        if not receipts:
            return
        with self._locked() as connection:
            rows = {
                row.mutation_id: row
                for row in connection.execute(
                    select(outbox_table).where(
                        outbox_table.c.mutation_id.in_([r.mutation_id for r in receipts])
                    )
                )
            }
            rebuild: set[str] = set()
            for receipt in receipts:
                row = rows.get(receipt.mutation_id)
                if row is None or row.status != "pending":
                    continue  # answered before (a duplicated response)
                connection.execute(
                    update(outbox_table)
                    .where(outbox_table.c.mutation_id == receipt.mutation_id)
                    .values(
                        status=receipt.outcome,
                        reason=receipt.reason,
                        message=receipt.message,
                        settled_at=now,
                    )
                )
                if receipt.outcome == "applied":
                    continue
                if row.journey_id and row.kind == "command":
                    rebuild.add(row.journey_id)
                if receipt.outcome in ("conflict", "rejected") and row.kind != "resolve":
                    theirs = receipt.theirs.model_dump(mode="json") if receipt.theirs else None
                    connection.execute(
                        conflict_table.insert().values(
                            mutation_id=row.mutation_id,
                            journey_id=row.journey_id,
                            outcome=receipt.outcome,
                            reason=receipt.reason,
                            message=receipt.message,
                            mutation=row.body,
                            theirs=theirs,
                            created_at=now,
                        )
                    )
            for journey_id in sorted(rebuild):
                self._rebuild(connection, journey_id, [])

    # --- pull side -----------------------------------------------------------------------------

    def cursor(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(replica_table.c.cursor).where(replica_table.c.id == 1)
            ).scalar_one()

    def absorb(self, events: list[PulledEvent], cursor: int) -> set[str]:
        """Store a page of the server's events and move the cursor, in one transaction.

        Returns the journeys whose beginning this replica lacks (it started from a snapshot
        that left them out): the caller fetches them whole with `absorb_journey`.
        """
        missing: set[str] = set()
        with self._locked() as connection:
            current = connection.execute(
                select(replica_table.c.cursor).where(replica_table.c.id == 1)
            ).scalar_one()
            fresh = [event for event in events if event.position > current]
            by_journey: dict[str, list[PulledEvent]] = defaultdict(list)
            for event in fresh:
                by_journey[event.journey_id].append(event)
            for journey_id, journey_events in by_journey.items():
                if not self._integrate(connection, journey_id, journey_events):
                    missing.add(journey_id)
            if cursor > current:
                connection.execute(
                    update(replica_table).where(replica_table.c.id == 1).values(cursor=cursor)
                )
        return missing

    def absorb_journey(self, events: list[PulledEvent]) -> None:
        """A whole journey's events (from a snapshot), whatever the cursor."""
        with self._locked() as connection:
            by_journey: dict[str, list[PulledEvent]] = defaultdict(list)
            for event in events:
                by_journey[event.journey_id].append(event)
            for journey_id, journey_events in by_journey.items():
                self._integrate(connection, journey_id, journey_events)

    def _integrate(
        self, connection: Connection, journey_id: str, pulled: list[PulledEvent]
    ) -> bool:
        local = connection.execute(
            select(event_table.c.event_id, event_table.c.seq, event_table.c.payload)
            .where(event_table.c.journey_id == journey_id)
            .order_by(event_table.c.seq)
        ).all()
        unconfirmed = self._unconfirmed(connection, journey_id)
        confirmed_ids = {row.event_id for row in local if row.event_id not in unconfirmed}
        new = sorted(
            (event for event in pulled if event.event_id not in confirmed_ids),
            key=lambda event: event.seq,
        )
        if not new:
            return True
        confirmed_top = max((row.seq for row in local if row.event_id in confirmed_ids), default=0)
        if new[0].seq != confirmed_top + 1:
            return False  # we lack the journey's start: fetch it whole
        provisional = [row for row in local if row.event_id in unconfirmed]
        # Fast path, the common case: the server sends back our own changes as we made them.
        if len(new) <= len(provisional) and all(
            event.event_id == row.event_id and event.seq == row.seq and event.payload == row.payload
            for event, row in zip(new, provisional, strict=False)
        ):
            connection.execute(
                update(outbox_table)
                .where(outbox_table.c.mutation_id.in_([event.event_id for event in new]))
                .values(confirmed=True)
            )
            return True
        self._rebuild(connection, journey_id, new)
        return True

    def _unconfirmed(self, connection: Connection, journey_id: str) -> dict[str, Any]:
        return {
            row.mutation_id: row
            for row in connection.execute(
                select(outbox_table)
                .where(
                    outbox_table.c.journey_id == journey_id,
                    outbox_table.c.kind == "command",
                    outbox_table.c.confirmed.is_(False),
                )
                .order_by(outbox_table.c.client_seq)
            )
        }

    def _rebuild(self, connection: Connection, journey_id: str, new: list[PulledEvent]) -> None:
        """Journey = confirmed events + `new` server events + our live changes judged again."""
        rows = connection.execute(
            select(event_table)
            .where(event_table.c.journey_id == journey_id)
            .order_by(event_table.c.seq)
        ).all()
        unconfirmed = self._unconfirmed(connection, journey_id)
        confirmed = [event_from_row(row) for row in rows if row.event_id not in unconfirmed]
        kept_devices = {row.event_id: row.device_id for row in rows}
        incoming = [event_from_row(event) for event in new]  # a pulled event has the row's names
        history = confirmed + incoming
        state: JourneyState | None = None
        try:
            for event in history:
                state = apply(state, event)
        except ReplayError:
            # Never expected (the server's log replays by construction); keep the old
            # projection rather than write a wrong one, and let a later pull repair it.
            return
        by_id = {event.event_id: event for event in history}
        provisional: list[Event] = []
        arrived = {event.event_id for event in incoming}
        for row in unconfirmed.values():
            if row.status not in LIVE or row.mutation_id in arrived:
                continue  # settled without effect, or the server's copy is in `incoming`
            body = row.body
            if body["command"] == "refer":
                if state is not None or not row.local_payload:
                    continue
                event = Event(
                    row.mutation_id,
                    journey_id,
                    EventKind.REFERRED,
                    row.local_payload,
                    body["actor"],
                    datetime.fromisoformat(body["occurred_at"]),
                    1,
                )
                state = apply(None, event)
                provisional.append(event)
                by_id[event.event_id] = event
                continue
            verdict = judge(
                self.flow,
                state,
                mutation_id=row.mutation_id,
                command=body["command"],
                journey_id=journey_id,
                args=body.get("args", {}),
                seen=body.get("seen", {}),
                want=body.get("want", {}),
                actor=body["actor"],
                occurred_at=datetime.fromisoformat(body["occurred_at"]),
                undo_target=by_id.__getitem__,
                undo_event_id=body.get("undo_event_id"),
                calendar=self.calendar,
            )
            if verdict.outcome == "applied" and verdict.event is not None:
                provisional.append(verdict.event)
                by_id[verdict.event.event_id] = verdict.event
                state = verdict.state
            # Otherwise it stays queued but unseen: the server will most likely refuse it too,
            # and will say so; a change never shows on a journey it cannot apply to.

        # Write: drop every unconfirmed event, then the projection, then the events.
        if unconfirmed:
            connection.execute(
                delete(event_table).where(
                    event_table.c.journey_id == journey_id,
                    event_table.c.event_id.in_(list(unconfirmed)),
                )
            )
        to_insert = incoming + provisional
        count = max(len(to_insert), 1)
        top = connection.execute(
            update(counter_table)
            .where(counter_table.c.name == EVENTS_COUNTER)
            .values(value=counter_table.c.value + count)
            .returning(counter_table.c.value)
        ).scalar_one()
        positions = range(top - count + 1, top + 1)
        exists = connection.execute(
            select(journey_table.c.patient_id).where(journey_table.c.id == journey_id)
        ).first()
        if state is None:
            if exists is not None:
                connection.execute(delete(journey_table).where(journey_table.c.id == journey_id))
                self._drop_orphan_patient(connection, exists.patient_id)
        else:
            values = row_from_state(state, top)
            referral = history[0] if history else provisional[0]
            values["patient_id"] = self._ensure_patient(connection, referral.payload["patient"])
            if exists is None:
                connection.execute(journey_table.insert().values(**values))
            else:
                connection.execute(
                    update(journey_table).where(journey_table.c.id == journey_id).values(**values)
                )
        if to_insert:
            incoming_devices = {event.event_id: event.device_id for event in new}
            recorded = {event.event_id: event.recorded_at for event in new}
            connection.execute(
                event_table.insert(),
                [
                    {
                        "position": position,
                        "event_id": event.event_id,
                        "journey_id": journey_id,
                        "seq": event.seq,
                        "kind": str(event.kind),
                        "payload": event.payload,
                        "actor": event.actor,
                        "device_id": incoming_devices.get(
                            event.event_id, kept_devices.get(event.event_id, self.device_id)
                        ),
                        "occurred_at": event.occurred_at,
                        "recorded_at": recorded.get(event.event_id, event.occurred_at),
                    }
                    for position, event in zip(positions, to_insert, strict=False)
                ],
            )
        if new:
            connection.execute(
                update(outbox_table)
                .where(outbox_table.c.mutation_id.in_([event.event_id for event in new]))
                .values(confirmed=True)
            )

    def _ensure_patient(self, connection: Connection, patient: dict[str, Any]) -> str:
        """The local id of the referral's patient, adding them if new here. Matched by NHS
        number, as the server does: a patient first referred offline keeps this replica's id."""
        found = connection.execute(
            select(patient_table.c.id).where(patient_table.c.nhs_number == patient["nhs_number"])
        ).first()
        if found is not None:
            return found.id
        connection.execute(
            patient_table.insert().values(
                id=patient["id"],
                nhs_number=patient["nhs_number"],
                name=patient["name"],
                date_of_birth=date.fromisoformat(patient["date_of_birth"]),
                locality=patient.get("locality"),
            )
        )
        return patient["id"]

    def _drop_orphan_patient(self, connection: Connection, patient_id: str) -> None:
        # A patient typed into a referral the server refused: keep no data about them.
        others = connection.execute(
            select(func.count())
            .select_from(journey_table)
            .where(journey_table.c.patient_id == patient_id)
        ).scalar_one()
        if not others:
            connection.execute(delete(patient_table).where(patient_table.c.id == patient_id))

    # --- status and conflicts ------------------------------------------------------------------

    def note_attempt(self, at: datetime, error: str | None, success: bool) -> None:
        values: dict[str, Any] = {"last_attempt_at": at, "last_error": error}
        if success:
            values["last_success_at"] = at
        with self.engine.begin() as connection:
            connection.execute(
                update(replica_table).where(replica_table.c.id == 1).values(**values)
            )

    def state(self) -> ReplicaState:
        with self.engine.connect() as connection:
            row = connection.execute(select(replica_table).where(replica_table.c.id == 1)).one()
            counts = dict(
                connection.execute(
                    select(outbox_table.c.status, func.count())
                    .where(
                        (outbox_table.c.status == "pending")
                        | ((outbox_table.c.status == "applied") & ~outbox_table.c.confirmed)
                    )
                    .group_by(outbox_table.c.status)
                ).all()
            )
            conflicts = connection.execute(
                select(func.count())
                .select_from(conflict_table)
                .where(conflict_table.c.resolved_at.is_(None))
            ).scalar_one()
        return ReplicaState(
            cursor=row.cursor,
            pending=counts.get("pending", 0),
            unconfirmed=counts.get("applied", 0),
            conflicts=conflicts,
            last_success_at=row.last_success_at,
            last_attempt_at=row.last_attempt_at,
            last_error=row.last_error,
        )

    def pending_journeys(self) -> set[str]:
        """Journeys with a change the server has not yet confirmed: shown as pending."""
        with self.engine.connect() as connection:
            return set(
                connection.execute(
                    select(outbox_table.c.journey_id)
                    .where(
                        outbox_table.c.journey_id.is_not(None),
                        outbox_table.c.status.in_(LIVE),
                        outbox_table.c.confirmed.is_(False),
                    )
                    .distinct()
                ).scalars()
            )

    def conflicts(self, include_resolved: bool = False) -> list[ConflictView]:
        query = select(conflict_table).order_by(conflict_table.c.created_at)
        if not include_resolved:
            query = query.where(conflict_table.c.resolved_at.is_(None))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        views = []
        for row in rows:
            body, theirs = row.mutation, row.theirs or {}
            views.append(
                ConflictView(
                    mutation_id=row.mutation_id,
                    journey_id=row.journey_id,
                    outcome=row.outcome,
                    reason=row.reason,
                    message=row.message,
                    command=body.get("command", body.get("kind", "?")),
                    args=body.get("args", {}),
                    seen=body.get("seen", {}),
                    want=body.get("want", {}),
                    actor=body.get("actor", "?"),
                    occurred_at=_dt(body.get("occurred_at")) or row.created_at,
                    theirs_actor=theirs.get("actor"),
                    theirs_at=_dt(theirs.get("at")),
                    theirs_kind=theirs.get("kind"),
                    theirs_values=theirs.get("values", {}),
                    created_at=row.created_at,
                    resolved_at=row.resolved_at,
                    resolution=row.resolution,
                )
            )
        return views

    def conflict(self, mutation_id: str) -> ConflictView:
        from d2a_tui.domain.errors import NotFound

        for view in self.conflicts(include_resolved=True):
            if view.mutation_id == mutation_id or view.mutation_id.startswith(mutation_id):
                return view
        raise NotFound(f"no conflict {mutation_id}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
