"""The server's side of a push: apply a batch of one device's mutations, exactly once each.

A batch runs in one transaction that first takes the event counter's row lock, so batches from
different devices queue (their events get gap-free, commit-ordered positions) and every read made
while deciding is the truth at commit. Each mutation's event, projection change and receipt are
written in that transaction, together with the device's next expected `client_seq`: either all
of it is committed or none of it, so a response lost after the commit is answered from the stored
receipts when the client retries, and nothing is applied twice.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import EventKind, JourneyState, ReplayError
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.ids import new_journey_id
from d2a_tui.domain.limits import check_occurred_at, check_text
from d2a_tui.domain.need_to_know import JOURNEY_FIELDS
from d2a_tui.domain.nhs_number import normalise as normalise_nhs
from d2a_tui.storage import audit
from d2a_tui.storage.event_log import WriteBehind, translated_errors
from d2a_tui.storage.journeys import Actor, UnitOfWork, event_table, journey_table
from d2a_tui.storage.models import AppUser, CapacityReport, Patient, Service, table_of
from d2a_tui.sync import scope
from d2a_tui.sync.models import SyncDevice
from d2a_tui.sync.protocol import (
    AccessMutation,
    CapacityMutation,
    CommandMutation,
    Mutation,
    Receipt,
    ResolveMutation,
    Theirs,
)
from d2a_tui.sync.receipts import (
    PushRefused,
    receipt_row,
    receipt_table,
    refuse_reused_ids,
    refused,
    stored_receipts,
)
from d2a_tui.sync.rules import (
    KINDS_BY_FIELD,
    Verdict,
    reason_code,
    refusal_for_role,
    settled,
)

device_table = table_of(SyncDevice)
user_table = table_of(AppUser)
patient_table = table_of(Patient)
service_table = table_of(Service)
capacity_table = table_of(CapacityReport)
# Refusals that say someone reached for what is not theirs: each one is in the audit.
AUDITED_REFUSALS = frozenset(
    {
        "forbidden",
        "out_of_scope",
        "not_in_scope",
        "not_your_offer",
        "too_many_refusals",
        "look_too_old",
    }
)
OUT_OF_SCOPE_PERSON = "this person is outside your scope"
# Referrals refused for scope, per user, before the rest wait: a hub's coordinator who mistypes
# a locality a few times is not slowed; a script trying NHS numbers is stopped within a minute.
GUESSES = 10
GUESS_WINDOW = timedelta(hours=1)
# How old a look may be when its record reaches the server: a night offline, a long weekend.
LOOK_WINDOW = timedelta(days=4)


class _Answered(Exception):
    """A mutation answered before the rules are asked: merged, a conflict, or out of scope."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


@dataclass
class PushResult:
    receipts: list[Receipt]
    next_seq: int
    head: int
    applied: int = 0
    outcomes: Tally[str] = field(default_factory=Tally)


class Ingest:
    def __init__(self, engine: Engine, flow: Flow, calendar: HubCalendar = LONDON) -> None:
        self.engine = engine
        self.flow = flow
        self.calendar = calendar
        # SQLite has one writer anyway; queueing in-process spares it busy-waiting on its lock.
        self._sqlite_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    def push(self, device_id: str, mutations: list[Mutation], received_at: datetime) -> PushResult:
        seqs = [m.client_seq for m in mutations]
        if any(b != a + 1 for a, b in itertools.pairwise(seqs)):
            raise PushRefused(
                422, "batch_not_contiguous", "a batch must hold consecutive client_seq values"
            )
        if self._sqlite_lock is None:
            return self._push(device_id, mutations, received_at)
        with self._sqlite_lock:
            return self._push(device_id, mutations, received_at)

    def _push(self, device_id: str, mutations: list[Mutation], received_at: datetime) -> PushResult:
        with translated_errors(self.engine), self.engine.begin() as connection:
            # The lock first: every read below is then what the commit will be based on. Holding
            # it for the whole batch, positions are handed out here and the counter is written
            # once at the end: a round trip per mutation saved.
            work = UnitOfWork(connection, self.flow, calendar=self.calendar)
            top = work.log.lock()
            batch = WriteBehind(work.log, top)
            device = connection.execute(
                select(
                    device_table.c.next_seq, device_table.c.revoked_at, device_table.c.user_id
                ).where(device_table.c.id == device_id)
            ).first()
            if device is None or device.revoked_at is not None:
                raise PushRefused(401, "revoked", "this device is not enrolled or was revoked")
            user = connection.execute(
                select(user_table.c.role, user_table.c.organisation_id).where(
                    user_table.c.id == device.user_id
                )
            ).first()
            role = user.role if user else None
            organisation = user.organisation_id if user else None
            who = scope.reader(connection, device.user_id, role, organisation)
            expected = device.next_seq
            result = PushResult([], expected, 0)
            if mutations and mutations[0].client_seq > expected:
                raise PushRefused(
                    409,
                    "seq_gap",
                    f"expected client_seq {expected}, got {mutations[0].client_seq}",
                    expected_seq=expected,
                )
            stored = stored_receipts(connection, device_id, mutations, expected)
            refuse_reused_ids(connection, [m for m in mutations if m.client_seq >= expected])
            new_rows: list[dict[str, Any]] = []
            for mutation in mutations:
                if mutation.client_seq < expected:
                    result.receipts.append(stored[mutation.client_seq])
                    continue
                receipt = self._apply(work, batch, device_id, who, mutation, received_at)
                result.receipts.append(receipt)
                result.outcomes[receipt.outcome] += 1
                new_rows.append(receipt_row(device_id, mutation, receipt, received_at))
                expected += 1
            batch.flush()
            if new_rows:
                connection.execute(receipt_table.insert(), new_rows)
            if batch.position != top:
                work.log.set_head(batch.position)
            connection.execute(
                update(device_table)
                .where(device_table.c.id == device_id)
                .values(next_seq=expected, last_seen_at=received_at)
            )
            result.next_seq = expected
            result.applied = len(new_rows)
            result.head = batch.position
        return result

    # --- one mutation --------------------------------------------------------------------------

    def _apply(
        self,
        work: UnitOfWork,
        batch: WriteBehind,
        device_id: str,
        who: scope.Reader,
        mutation: Mutation,
        now: datetime,
    ) -> Receipt:
        """One mutation's receipt; a refusal of scope or role is also written to the audit,
        in the push's transaction (guessing is as attributable as looking)."""
        receipt = self._decide(work, batch, device_id, who, mutation, now)
        if receipt.outcome == "rejected" and receipt.reason in AUDITED_REFUSALS:
            command = mutation.command if isinstance(mutation, CommandMutation) else None
            audit.record(
                work.connection,
                user_id=mutation.actor,
                device_id=device_id,
                journey_id=getattr(mutation, "journey_id", None),
                purpose="refer" if command == "refer" else "push",
                at=now,
                outcome="refused",
                reason=receipt.reason,
            )
        return receipt

    def _decide(
        self,
        work: UnitOfWork,
        batch: WriteBehind,
        device_id: str,
        who: scope.Reader,
        mutation: Mutation,
        now: datetime,
    ) -> Receipt:
        role = who.role
        command = mutation.command if isinstance(mutation, CommandMutation) else None
        refusal = refusal_for_role(role, mutation.kind, command)
        if refusal is not None:
            return refused(mutation, "forbidden", refusal)
        try:
            check_occurred_at(mutation.occurred_at, now)
        except D2AError as error:
            return refused(mutation, reason_code(error), str(error))
        if isinstance(mutation, AccessMutation):
            return self._access(work, device_id, who, mutation, now)
        if isinstance(mutation, CommandMutation):
            # What a change says it saw is compared with the journey, and a conflict answers
            # with the journey's values: a field the role may not read must not be named, or
            # the comparison itself would tell it (merged or conflict).
            hidden = sorted((set(mutation.seen) | set(mutation.want)) - JOURNEY_FIELDS[who.view])
            if hidden:
                return refused(mutation, "forbidden", f"your role does not see {', '.join(hidden)}")
            if (
                mutation.command != "refer"
                and mutation.journey_id is not None
                and not scope.may_change(
                    work.connection, who, mutation.journey_id, now, self.calendar
                )
            ):
                return self._out_of_scope(mutation)
            return self._command(work, batch, device_id, mutation, now, who)
        if isinstance(mutation, ResolveMutation):
            known = work.connection.execute(
                select(receipt_table.c.outcome, receipt_table.c.journey_id).where(
                    receipt_table.c.mutation_id == mutation.resolves,
                    receipt_table.c.device_id == device_id,
                )
            ).first()
            if known is None or known.outcome not in ("conflict", "rejected"):
                return refused(mutation, "not_found", "no such conflict from this device")
            return Receipt(
                mutation_id=mutation.mutation_id,
                client_seq=mutation.client_seq,
                outcome="applied",
                journey_id=known.journey_id,
            )
        assert isinstance(mutation, CapacityMutation)
        return self._capacity(work, device_id, who, mutation, now)

    def _out_of_scope(self, mutation: Mutation) -> Receipt:
        """Refused (and, by `_apply`, recorded in the audit)."""
        return refused(mutation, "out_of_scope", "this journey is outside your scope")

    def _guesses(self, connection: Connection, user_id: str, now: datetime) -> int:
        """Referrals of this user refused for scope lately (from the audit, so every server
        process counts the same)."""
        return connection.execute(
            select(func.count())
            .select_from(audit.access_table)
            .where(
                audit.access_table.c.user_id == user_id,
                audit.access_table.c.purpose == "refer",
                audit.access_table.c.outcome == "refused",
                audit.access_table.c.at >= now - GUESS_WINDOW,
            )
        ).scalar_one()

    def _access(
        self, work: UnitOfWork, device_id: str, who: scope.Reader, m: AccessMutation, now: datetime
    ) -> Receipt:
        # A device's record of a look is believed only as far as it could be true: a journey
        # this user may read now (an unknown id is refused alike), looked at recently on the
        # server's clock (future times are refused above). Anything else would let a device
        # write looks into the audit that never happened. A refusal is itself audited.
        if m.occurred_at < now - LOOK_WINDOW:
            return refused(
                m,
                "look_too_old",
                f"a look is recorded within {LOOK_WINDOW.days} days of when it happened",
            )
        exists = work.connection.execute(
            select(journey_table.c.id).where(journey_table.c.id == m.journey_id)
        ).first()
        seen = scope.resolve(work.connection, who, now, self.calendar)
        if exists is None or not seen.covers(work.connection, m.journey_id):
            return refused(m, "not_in_scope", "no journey with this id is in your scope")
        # The row's id is the mutation's, so it is stored once.
        audit.record(
            work.connection,
            user_id=m.actor,
            device_id=device_id,
            journey_id=m.journey_id,
            purpose=m.purpose,
            at=m.occurred_at,
            access_id=m.mutation_id,
        )
        return Receipt(
            mutation_id=m.mutation_id,
            client_seq=m.client_seq,
            outcome="applied",
            journey_id=m.journey_id,
        )

    def _command(
        self,
        work: UnitOfWork,
        batch: WriteBehind,
        device_id: str,
        m: CommandMutation,
        now: datetime,
        who: scope.Reader,
    ) -> Receipt:
        """The mutation through the one command path (`UnitOfWork.execute`), with what a push
        adds around it: the referrer's scope, the device's view of the journey, the receipt."""
        connection = work.connection
        args = m.args
        if m.journey_id is None:
            return refused(m, "invalid_input", f"{m.command} needs a journey_id")
        state = None
        if m.command == "refer":
            batch.flush()  # the patient and open-journey checks read the tables
            exists = connection.execute(
                select(journey_table.c.id).where(journey_table.c.id == m.journey_id)
            ).first()
            if exists is not None:
                return refused(m, "duplicate_journey", "a journey with this id exists")
            try:
                patient = dict(args["patient"])
                # Scope before anything about the person is looked up: a referral for
                # someone outside the referrer's localities, whether on record or not, gets
                # one answer that names nobody (no journey, no column, no date of birth).
                # Repeated refusals are guessing: after GUESSES in GUESS_WINDOW the device's
                # referrals wait (every one is in the audit, `_apply`).
                if self._guesses(connection, m.actor, now) >= GUESSES:
                    return refused(
                        m,
                        "too_many_refusals",
                        "too many referrals were refused; try again later or ask the hub",
                    )
                if not scope.may_refer(who, patient.get("locality")):
                    return refused(m, "out_of_scope", OUT_OF_SCOPE_PERSON)
                holder = connection.execute(
                    select(patient_table.c.locality).where(
                        patient_table.c.nhs_number
                        == normalise_nhs(str(patient.get("nhs_number", "")))
                    )
                ).first()
                if holder is not None and not scope.may_refer(who, holder.locality):
                    return refused(m, "out_of_scope", OUT_OF_SCOPE_PERSON)
                patient_id = patient.get("id")
                if (
                    patient_id is not None
                    and connection.execute(
                        select(patient_table.c.id).where(patient_table.c.id == str(patient_id))
                    ).first()
                ):
                    # An id we already hold for someone is never taken from a client's say-so:
                    # the referral's lookup (`prepare`) matches people by NHS number.
                    patient["id"] = new_journey_id()
            except (D2AError, KeyError, TypeError, ValueError, AttributeError) as error:
                return refused(m, reason_code(error), str(error))
            args = {**args, "patient": patient}
        else:
            state = batch.states.get(m.journey_id)
            if state is None:
                try:
                    state = work.load(m.journey_id)
                except D2AError as error:
                    return refused(m, reason_code(error), str(error))
                batch.states[m.journey_id] = state

        def as_the_device_saw_it(read: JourneyState | None, args: dict[str, Any]) -> None:
            if read is None:  # a referral, with the person as on record
                if not scope.may_refer(who, args["patient"].get("locality")):
                    raise _Answered(
                        Verdict("rejected", reason="out_of_scope", message=OUT_OF_SCOPE_PERSON)
                    )
                return
            seen: dict[str, Any] = {key: value for key, value in m.seen.items()}
            verdict = settled(read, seen, {key: value for key, value in m.want.items()})
            if verdict is not None:
                raise _Answered(verdict)

        try:
            applied = work.execute(
                m.command,
                args,
                Actor(m.actor, device_id),
                m.occurred_at,
                journey_id=m.journey_id,
                event_id=m.mutation_id,
                # Only an undo names the event it undoes; any other command's is not read.
                undo_event_id=m.undo_event_id if m.command == "undo" else None,
                recorded_at=now,
                current=state,
                now=now,
                sink=batch,
                # Judged as the device's user: its role and organisation, not the body's say-so.
                role=who.role or "",
                organisation=who.organisation_id,
                check=as_the_device_saw_it,
            )
        except _Answered as answered:
            verdict = answered.verdict
        except (
            D2AError, ReplayError, KeyError, TypeError, ValueError, OverflowError, AttributeError
        ) as error:  # fmt: skip
            # KeyError/TypeError/ValueError: args a well-behaved client never sends (a referral
            # without a patient); refused like a rule, never a 500 that blocks the outbox forever.
            verdict = Verdict("rejected", reason=reason_code(error), message=str(error))
        else:
            return Receipt(
                mutation_id=m.mutation_id,
                client_seq=m.client_seq,
                outcome="applied",
                journey_id=m.journey_id,
                position=applied.position,
                journey_version=applied.state.version,
            )
        theirs = None
        if verdict.outcome == "conflict" and state is not None:
            batch.flush()
            theirs = self._theirs(connection, m.journey_id, verdict)
        return Receipt(
            mutation_id=m.mutation_id,
            client_seq=m.client_seq,
            outcome=verdict.outcome,
            reason=verdict.reason,
            message=verdict.message,
            journey_id=m.journey_id,
            journey_version=state.version if state else None,
            theirs=theirs,
        )

    def _theirs(self, connection: Connection, journey_id: str, verdict: Verdict) -> Theirs:
        """Name the change a conflicting mutation ran into: the latest event that set the
        fields it depends on (not merely the latest event, which may be a note)."""
        state = verdict.state
        assert state is not None
        kinds = {kind for name in (verdict.current or {}) for kind in KINDS_BY_FIELD[name]}
        if not kinds:
            kinds = {str(EventKind.REFERRED)}
        row = connection.execute(
            select(event_table.c.actor, event_table.c.occurred_at, event_table.c.kind)
            .where(event_table.c.journey_id == journey_id, event_table.c.kind.in_(kinds))
            .order_by(event_table.c.seq.desc())
            .limit(1)
        ).first()
        return Theirs(
            actor=row.actor if row else state.updated_by,
            at=row.occurred_at if row else state.updated_at,
            kind=row.kind if row else None,
            version=state.version,
            values=verdict.current or {},
        )

    def _capacity(
        self,
        work: UnitOfWork,
        device_id: str,
        who: scope.Reader,
        m: CapacityMutation,
        now: datetime,
    ) -> Receipt:
        role, organisation = who.role, who.organisation_id
        try:
            if m.note is not None:
                check_text("note", m.note, "the note")
        except D2AError as error:
            return refused(m, reason_code(error), str(error))
        service = work.connection.execute(
            select(service_table.c.organisation_id, service_table.c.locality).where(
                service_table.c.id == m.service_id
            )
        ).first()
        if service is None:
            return refused(m, "not_found", f"no service {m.service_id}")
        if role != "provider" and who.localities and service.locality not in who.localities:
            return refused(m, "out_of_scope", "this service is outside your localities")
        if role == "provider" and (organisation is None or service.organisation_id != organisation):
            return refused(m, "forbidden", "a provider reports capacity for its own services only")
        if m.occupied + m.closed > m.total:
            return refused(m, "invalid_input", "occupied and closed beds exceed the total")
        if work.connection.execute(
            select(capacity_table.c.id).where(capacity_table.c.report_id == m.report_id)
        ).first():
            # The same report under a new mutation id: it is stored once, whatever the retries.
            return refused(
                m, "duplicate_report", f"capacity report {m.report_id} is stored already"
            )
        work.connection.execute(
            capacity_table.insert().values(
                report_id=m.report_id,
                service_id=m.service_id,
                reported_at=m.occurred_at,
                total=m.total,
                occupied=m.occupied,
                closed=m.closed,
                reported_by=m.actor,
                device_id=device_id,
                note=m.note,
            )
        )
        return Receipt(mutation_id=m.mutation_id, client_seq=m.client_seq, outcome="applied")
