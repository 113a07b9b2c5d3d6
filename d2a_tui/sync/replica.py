"""A replica's local side of sync: the outbox, the server's answers, and pulled pages.

Every change made here is queued in the outbox in the transaction that makes it locally: journey
commands (through the `UnitOfWork` hook), conflict decisions, and capacity reports. The server
answers per change; what it did not apply is undone locally and listed with its reason
(`conflict_views.py`). Pulled events are folded into the journeys by `rebuild.Rebuilder`.

Every method runs in one local transaction that first takes the event counter's lock, like a
local command does: the cursor moves with the events it covers, and settling receipts, absorbing
a page and recording a command never interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from d2a_tui.domain.errors import D2AError, NotFound
from d2a_tui.domain.events import JourneyState
from d2a_tui.domain.flow import Flow
from d2a_tui.storage.event_log import EventLog
from d2a_tui.storage.journeys import Applied, UnitOfWork, event_table, journey_table
from d2a_tui.storage.models import (
    AppUser,
    CapacityReport,
    Organisation,
    ReportJourney,
    Service,
    table_of,
)
from d2a_tui.sync import conflict_views
from d2a_tui.sync.compact import payload_digest
from d2a_tui.sync.conflict_views import (
    ConflictView,
    ReplicaState,
    conflict_table,
)
from d2a_tui.sync.models import SyncReplica
from d2a_tui.sync.protocol import PulledEvent, Receipt
from d2a_tui.sync.rebuild import LIVE, Rebuilder, outbox_table
from d2a_tui.sync.rules import seen_and_want

replica_table = table_of(SyncReplica)
capacity_table = table_of(CapacityReport)
report_journey_table = table_of(ReportJourney)
service_table = table_of(Service)
organisation_table = table_of(Organisation)
user_table = table_of(AppUser)


class LostChanges(D2AError):
    """The server lost changes of ours that are no longer kept here: they cannot be re-sent."""


class Replica:
    def __init__(self, engine: Engine, flow: Flow, device_id: str) -> None:
        self.engine = engine
        self.flow = flow
        self.device_id = device_id
        self.rebuilder = Rebuilder(flow, device_id)
        # Set while a conflict is being re-applied: the new mutation names it.
        self.resolving: str | None = None

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            EventLog(connection).lock()
            yield connection

    # --- the write path ------------------------------------------------------------------------

    def _next_seq(self, connection: Connection) -> int:
        following: int = connection.execute(
            update(replica_table)
            .where(replica_table.c.id == 1)
            .values(next_client_seq=replica_table.c.next_client_seq + 1)
            .returning(replica_table.c.next_client_seq)
        ).scalar_one()
        return following - 1

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

    def queue_capacity(
        self,
        connection: Connection,
        *,
        report_id: str,
        service_id: str,
        total: int,
        occupied: int,
        closed: int,
        note: str | None,
        actor: str,
        occurred_at: datetime,
        mutation_id: str,
    ) -> None:
        """A capacity report made here, queued in the transaction that stores it locally. The
        report's id travels with it, so however often it is sent the server stores it once."""
        fields: dict[str, Any] = {
            "report_id": report_id,
            "service_id": service_id,
            "total": total,
            "occupied": occupied,
            "closed": closed,
        }
        if note is not None:
            fields["note"] = note
        self._queue(connection, "capacity", mutation_id, actor, occurred_at, None, fields)

    def queue_access(
        self,
        connection: Connection,
        *,
        mutation_id: str,
        journey_id: str,
        purpose: str,
        actor: str,
        occurred_at: datetime,
    ) -> None:
        """A look at a journey, queued in the transaction that records it locally; the access
        record's id is the mutation's, so the server stores it once however often it is sent."""
        # The journey is in the body only: a look changes no journey, so it is never shown as
        # a pending change of one.
        fields = {"journey_id": journey_id, "purpose": purpose}
        self._queue(connection, "access", mutation_id, actor, occurred_at, None, fields)

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
                raise NotFound("no such unresolved conflict")
            fields = {"resolves": conflict_id, "decision": decision}
            self._queue(
                connection, "resolve", mutation_id, actor, occurred_at, row.journey_id, fields
            )
            resolution = "theirs" if decision == "keep_theirs" else "dismissed"
            self._mark_resolved(connection, conflict_id, resolution, mutation_id, occurred_at)

    def _queue(
        self,
        connection: Connection,
        kind: str,
        mutation_id: str,
        actor: str,
        occurred_at: datetime,
        journey_id: str | None,
        fields: dict[str, Any],
    ) -> None:
        """Queue a mutation that makes no journey event (a capacity report, a look, a conflict's
        decision): confirmed at once, as there is nothing of it to wait for in a pull."""
        seq = self._next_seq(connection)
        body = {
            "kind": kind,
            "mutation_id": mutation_id,
            "client_seq": seq,
            "actor": actor,
            "occurred_at": occurred_at.isoformat(),
            **fields,
        }
        connection.execute(
            outbox_table.insert().values(
                mutation_id=mutation_id,
                client_seq=seq,
                kind=kind,
                journey_id=journey_id,
                body=body,
                created_at=occurred_at,
                status="pending",
                confirmed=True,
            )
        )

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
            # A change sent again after the server lost it may have a decided conflict here.
            decided = set(
                connection.execute(
                    select(conflict_table.c.mutation_id).where(
                        conflict_table.c.mutation_id.in_(list(rows))
                    )
                ).scalars()
            )
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
                if row.kind == "capacity":
                    # Not on the server, so not here either: the list shows it as rejected.
                    connection.execute(
                        delete(capacity_table).where(
                            capacity_table.c.report_id == row.body.get("report_id")
                        )
                    )
                if row.journey_id and row.kind == "command":
                    rebuild.add(row.journey_id)
                # A look the server refused (out of scope by now, too old) is the server's audit
                # to keep: there is nothing for the user to resolve.
                if (
                    receipt.outcome in ("conflict", "rejected")
                    and row.kind not in ("resolve", "access")
                    and row.mutation_id not in decided
                ):
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
            self._confirm_as_made(connection, receipts, rebuild)
            for journey_id in sorted(rebuild):
                self.rebuilder.rebuild(connection, journey_id, [])

    def _confirm_as_made(
        self, connection: Connection, receipts: list[Receipt], rebuilding: set[str]
    ) -> None:
        """Confirm our events the server made exactly as we did (same id, journey version and
        payload digest), so the pull need not send them back. Only a journey's lowest
        unconfirmed events qualify: above one the server made differently, the history differs."""
        made = {r.mutation_id: r for r in receipts if r.outcome == "applied" and r.digest}
        journeys = {r.journey_id for r in receipts if r.mutation_id in made and r.journey_id}
        journeys |= set(
            connection.execute(
                select(outbox_table.c.journey_id).where(outbox_table.c.mutation_id.in_(made))
            ).scalars()
        )
        confirmed: list[str] = []
        for journey_id in sorted(j for j in journeys if j and j not in rebuilding):
            unconfirmed = set(self.rebuilder.unconfirmed(connection, journey_id))
            rows = connection.execute(
                select(event_table.c.event_id, event_table.c.seq, event_table.c.payload)
                .where(event_table.c.journey_id == journey_id)
                .order_by(event_table.c.seq)
            )
            for row in rows:
                if row.event_id not in unconfirmed:
                    continue
                receipt = made.get(row.event_id)
                if (
                    receipt is None
                    or receipt.journey_version != row.seq
                    or receipt.digest != payload_digest(row.payload)
                ):
                    break
                confirmed.append(row.event_id)
        if confirmed:
            connection.execute(
                update(outbox_table)
                .where(outbox_table.c.mutation_id.in_(confirmed))
                .values(confirmed=True)
            )

    def unconfirmed_journeys(self) -> list[str]:
        """Journeys with a change of ours the server applied but whose event we do not hold as
        the server made it."""
        with self.engine.connect() as connection:
            return sorted(
                connection.execute(
                    select(outbox_table.c.journey_id)
                    .where(
                        outbox_table.c.kind == "command",
                        outbox_table.c.status == "applied",
                        outbox_table.c.confirmed.is_(False),
                        outbox_table.c.journey_id.is_not(None),
                    )
                    .distinct()
                ).scalars()
            )

    # --- pull side -----------------------------------------------------------------------------

    def cursor(self) -> int:
        return self.position()[0]

    def hold_services(
        self, organisations: list[dict[str, Any]], services: list[dict[str, Any]]
    ) -> None:
        """Make this replica's services the server's list for its scope, in one transaction:
        what offers made here are checked against and what its screens name. A service no
        longer listed goes; one this device reported capacity for stays, inactive, so the
        report (maybe still in the outbox) keeps its service."""
        listed = {service["id"] for service in services}
        with self.engine.begin() as connection:
            for organisation in organisations:
                _upsert(connection, organisation_table, organisation)
            for service in services:
                _upsert(connection, service_table, service)
            gone = set(connection.execute(select(service_table.c.id)).scalars()) - listed
            reported = set(
                connection.execute(
                    select(capacity_table.c.service_id).where(
                        capacity_table.c.service_id.in_(sorted(gone))
                    )
                ).scalars()
            )
            if gone - reported:
                connection.execute(
                    delete(service_table).where(service_table.c.id.in_(sorted(gone - reported)))
                )
            if reported:
                connection.execute(
                    update(service_table)
                    .where(service_table.c.id.in_(sorted(reported)))
                    .values(active=False)
                )
            used = select(service_table.c.organisation_id).where(
                service_table.c.organisation_id.is_not(None)
            )
            users = select(user_table.c.organisation_id).where(
                user_table.c.organisation_id.is_not(None)
            )
            connection.execute(
                delete(organisation_table).where(
                    organisation_table.c.id.not_in(sorted({o["id"] for o in organisations})),
                    organisation_table.c.id.not_in(used),
                    organisation_table.c.id.not_in(users),
                )
            )

    def position(self) -> tuple[int, str | None]:
        """The cursor and the server's mark of the event there (sync/marks.py)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(replica_table.c.cursor, replica_table.c.log_mark).where(
                    replica_table.c.id == 1
                )
            ).one()
        return row.cursor, row.log_mark

    def absorb(
        self,
        events: list[PulledEvent],
        cursor: int,
        forget: list[str] | None = None,
        progress: Callable[[int], None] | None = None,
        mark: str | None = None,
    ) -> set[str]:
        """Store a page of the server's events, remove the journeys the server says this
        device may no longer hold, and move the cursor, in one transaction.

        Returns the journeys whose beginning this replica lacks (it started from a snapshot
        that left them out): the caller fetches them whole with `absorb_journey`.
        """
        missing: set[str] = set()
        with self._locked() as connection:
            if forget:
                self._forget(connection, set(forget))
            current = connection.execute(
                select(replica_table.c.cursor).where(replica_table.c.id == 1)
            ).scalar_one()
            fresh = [event for event in events if event.position > current]
            by_journey: dict[str, list[PulledEvent]] = defaultdict(list)
            for event in fresh:
                by_journey[event.journey_id].append(event)
            for done, (journey_id, journey_events) in enumerate(by_journey.items(), 1):
                if not self.rebuilder.integrate(connection, journey_id, journey_events):
                    missing.add(journey_id)
                if progress is not None and (done % 100 == 0 or done == len(by_journey)):
                    progress(done)  # (`progress`: how many journeys are stored so far)
            if cursor > current:
                connection.execute(
                    update(replica_table)
                    .where(replica_table.c.id == 1)
                    .values(cursor=cursor, log_mark=mark)
                )
            elif cursor == current and mark is not None:
                # A replica from before marks learns the one of where it stands.
                connection.execute(
                    update(replica_table).where(replica_table.c.id == 1).values(log_mark=mark)
                )
        return missing

    def _forget(self, connection: Connection, journeys: set[str]) -> None:
        """Remove journeys, their events, their patients (unless another journey here is
        theirs), and what was kept about them. A local action, not an event: the server's log
        is untouched. Changes still waiting to be sent stay queued; the server will say no."""
        ids = sorted(journeys)
        connection.execute(
            delete(report_journey_table).where(report_journey_table.c.journey_id.in_(ids))
        )
        connection.execute(delete(conflict_table).where(conflict_table.c.journey_id.in_(ids)))
        connection.execute(
            delete(outbox_table).where(
                outbox_table.c.journey_id.in_(ids), outbox_table.c.status != "pending"
            )
        )
        EventLog(connection).forget_journeys(ids)

    def absorb_journey(self, events: list[PulledEvent]) -> None:
        """A whole journey's events (from a snapshot), whatever the cursor."""
        with self._locked() as connection:
            by_journey: dict[str, list[PulledEvent]] = defaultdict(list)
            for event in events:
                by_journey[event.journey_id].append(event)
            for journey_id, journey_events in by_journey.items():
                self.rebuilder.integrate(connection, journey_id, journey_events)

    # --- a server that is not the one this replica followed ----------------------------------

    def reopen(self, from_seq: int, at: datetime) -> int:
        """The server expects `from_seq` next: it lost our changes from there on (its database
        was restored from an older backup). Queue them again, as they were first sent, and say
        how many. A conflict not yet decided goes: the server judges the change again and
        answers afresh. LostChanges if one of them is no longer here to send."""
        with self._locked() as connection:
            top = connection.execute(
                select(replica_table.c.next_client_seq).where(replica_table.c.id == 1)
            ).scalar_one()
            rows = connection.execute(
                select(outbox_table.c.client_seq, outbox_table.c.status)
                .where(outbox_table.c.client_seq >= from_seq)
                .order_by(outbox_table.c.client_seq)
            ).all()
            if [row.client_seq for row in rows] != list(range(from_seq, top)):
                raise LostChanges(
                    f"the server has lost changes this machine sent before (it expects change "
                    f"{from_seq}), and some of them are no longer kept here to send again; "
                    "nothing here was deleted: ask an administrator"
                )
            again = outbox_table.c.client_seq >= from_seq
            connection.execute(
                delete(conflict_table).where(
                    conflict_table.c.mutation_id.in_(
                        select(outbox_table.c.mutation_id).where(again)
                    ),
                    conflict_table.c.resolved_at.is_(None),
                )
            )
            # A command's event is ours until the server sends its copy back again.
            connection.execute(
                update(outbox_table)
                .where(again, outbox_table.c.kind == "command")
                .values(confirmed=False)
            )
            connection.execute(
                update(outbox_table)
                .where(again)
                .values(status="pending", reason=None, message=None, settled_at=None)
            )
            reopened = sum(1 for row in rows if row.status != "pending")
            if reopened:
                self._note_recovery(
                    connection,
                    at,
                    f"the server had lost {reopened} of this machine's changes (restored from a "
                    "backup?): they were sent again",
                )
            return reopened

    def rebase(
        self, events: list[PulledEvent], head: int, mark: str | None, at: datetime, note: str
    ) -> int:
        """Read everything again from a snapshot of the server's log: every journey here is
        replaced by the server's copy, with our changes still on their way judged again on
        top; a journey the server no longer sends (and that holds no change of ours) goes.
        The cursor and mark become the snapshot's. One transaction: never half of each log."""
        with self._locked() as connection:
            by_journey: dict[str, list[PulledEvent]] = defaultdict(list)
            for event in events:
                by_journey[event.journey_id].append(event)
            local = set(connection.execute(select(journey_table.c.id)).scalars())
            live = set(
                connection.execute(
                    select(outbox_table.c.journey_id).where(
                        outbox_table.c.kind == "command",
                        outbox_table.c.status.in_(LIVE),
                        outbox_table.c.confirmed.is_(False),
                        outbox_table.c.journey_id.is_not(None),
                    )
                ).scalars()
            )
            EventLog(connection).reread_journeys(sorted(local | set(by_journey) | live))
            for journey_id in sorted(by_journey):
                self.rebuilder.rebuild(connection, journey_id, by_journey[journey_id])
            for journey_id in sorted(live - by_journey.keys()):
                self.rebuilder.rebuild(connection, journey_id, [])
            gone = local - by_journey.keys() - live
            if gone:
                self._forget(connection, gone)
            connection.execute(
                update(replica_table)
                .where(replica_table.c.id == 1)
                .values(cursor=head, log_mark=mark)
            )
            self._note_recovery(connection, at, note)
            return len(by_journey)

    def _note_recovery(self, connection: Connection, at: datetime, note: str) -> None:
        connection.execute(
            update(replica_table)
            .where(replica_table.c.id == 1)
            .values(recovered_at=at, recovery=note)
        )

    # --- status and conflicts ------------------------------------------------------------------

    def note_attempt(
        self, at: datetime, error: str | None, success: bool, clock_offset: float | None = None
    ) -> None:
        values: dict[str, Any] = {"last_attempt_at": at, "last_error": error}
        if success:
            values["last_success_at"] = at
        if clock_offset is not None:
            values["clock_offset"] = clock_offset
        with self.engine.begin() as connection:
            connection.execute(
                update(replica_table).where(replica_table.c.id == 1).values(**values)
            )

    def clock_offset(self) -> float | None:
        """The server's clock minus this device's, in seconds, at the last sync."""
        with self.engine.connect() as connection:
            offset: float | None = connection.execute(
                select(replica_table.c.clock_offset).where(replica_table.c.id == 1)
            ).scalar()
        return offset

    def state(self) -> ReplicaState:
        with self.engine.connect() as connection:
            row = connection.execute(select(replica_table).where(replica_table.c.id == 1)).one()
            counts: dict[str, int] = dict(
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
            recovered_at=row.recovered_at,
            recovery=row.recovery,
            clock_offset=row.clock_offset,
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
        return conflict_views.conflicts(self.engine, include_resolved)

    def conflict(self, mutation_id: str) -> ConflictView:
        return conflict_views.conflict(self.engine, mutation_id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _upsert(connection: Connection, table: Any, row: dict[str, Any]) -> None:
    found = connection.execute(select(table.c.id).where(table.c.id == row["id"])).first()
    if found is None:
        connection.execute(table.insert().values(**row))
    else:
        connection.execute(table.update().where(table.c.id == row["id"]).values(**row))
