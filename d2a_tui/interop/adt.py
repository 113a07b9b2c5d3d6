"""The hospital's ADT feed applied to the journeys: one message, one transaction, one ACK.

Each message is read (`hl7v2.read_message`), matched to a patient by validated NHS number with the
date of birth as a check, and turned into commands run through the one write path with
`actor = "adt:<sending facility>"` and `occurred_at` = the message's event time, so a late message
lands on the day it happened. The message's control id is recorded in the same transaction as its
events: AA is sent only after that commit, and the same message sent again changes nothing.

- AA: applied; or held for a person in the exceptions queue (a date of birth that differs, a
  merge of two open journeys); or an admission of someone not yet referred, listed for the hub.
- AE: the message is well formed but cannot be applied (no such patient on the hub, nothing to
  cancel, a rule refuses it, the database is away): nothing is saved, the sender may resend.
- AR: the message cannot be taken at all (malformed, not ADT, an unsupported trigger).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.interop.adt_triggers import (
    Outcome,
    SenderProfile,
    TriggerStep,
    read_ahead,
    remember_identifiers,
)
from d2a_tui.interop.hl7v2 import AdtMessage, Rejected, ack, read_message
from d2a_tui.interop.tables import adt_message
from d2a_tui.storage.journeys import JourneyStore, UnitOfWork

Clock = Callable[[], datetime]


class AdtFeed:
    def __init__(
        self,
        store: JourneyStore,
        calendar: HubCalendar,
        device_id: str,
        clock: Clock,
        profiles: dict[str, SenderProfile] | None = None,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.device_id = device_id
        self.clock = clock
        self.profiles = profiles or {}

    def profile(self, sender: str) -> SenderProfile:
        return self.profiles.get(sender) or self.profiles.get("*") or SenderProfile()

    def handle(self, text: str) -> tuple[Outcome, bytes]:
        """Apply one message; its outcome and the ACK to send (after the commit)."""
        return self.handle_many([text])[0]

    def process(self, text: str) -> Outcome:
        return self.handle_many([text])[0][0]

    def handle_many(self, texts: list[str]) -> list[tuple[Outcome, bytes]]:
        """Apply messages in order in one transaction (a group commit: messages arriving together
        on several connections share a commit); a message that cannot be applied (AE) takes
        nothing else with it. Every ACK is made after the commit; a message whose commit fails
        is answered AE, nothing of it saved."""
        now = self.clock()
        read: list[AdtMessage | Outcome] = []
        for text in texts:
            try:
                read.append(read_message(text, self.calendar.zone))
            except Rejected as error:
                read.append(Outcome("AR", str(error)))
        outcomes = self._apply_all(read, now)
        replies = []
        for text, item, outcome in zip(texts, read, outcomes, strict=True):
            source = item.parsed if isinstance(item, AdtMessage) else text
            replies.append((outcome, ack(source, outcome.code, outcome.detail, self.clock())))
        return replies

    def _apply_all(self, read: list[AdtMessage | Outcome], now: datetime) -> list[Outcome]:
        messages = [item for item in read if isinstance(item, AdtMessage)]
        if len(messages) > 1:
            try:
                return self._apply_together(read, now)
            except D2AError:
                pass  # one of them was refused: nothing was saved; each goes on its own below
        return [
            item if isinstance(item, Outcome) else self._apply_alone(item, now) for item in read
        ]

    def _apply_together(self, read: list[AdtMessage | Outcome], now: datetime) -> list[Outcome]:
        """Every message of the batch in one transaction, or none of them. A savepoint per
        message would cost two round trips each on PostgreSQL, more than a message's other
        writes; a refusal is rare (a message for someone the hub does not follow), so the
        batch is tried whole and, when one is refused, done again a message at a time."""
        with self.store.unit_of_work() as work:
            # A write first: it takes SQLite's write lock and PostgreSQL's counter row lock
            # before anything is read.
            work.log.lock()
            return [
                item if isinstance(item, Outcome) else self._apply_one(work, item, now)
                for item in read
            ]

    def _apply_alone(self, message: AdtMessage, now: datetime) -> Outcome:
        # Alone in its transaction: a refusal rolls the whole of it back.
        try:
            with self.store.unit_of_work() as work:
                return self._apply_one(work, message, now)
        except D2AError as error:
            return Outcome("AE", str(error))

    def _apply_one(self, work: UnitOfWork, message: AdtMessage, now: datetime) -> Outcome:
        ahead = read_ahead(work.connection, message)
        if ahead.applied_before:
            return Outcome(
                "AA", "already applied; nothing changed", ahead.applied_journey, duplicate=True
            )
        step = TriggerStep(self, work, message, now, ahead.known)
        outcome = step.run()
        if step.patient_id is not None and message.patient.others:
            remember_identifiers(work.connection, message.patient, step.patient_id)
        record = {
            "message_type": message.message_type,
            "received_at": now,
            "outcome": step.kind,
            "detail": outcome.detail,
            "journey_id": outcome.journey_id,
            "digest": message.digest,
            # The visit a journey is about: only an inpatient stay's number is kept for it.
            "visit_number": (message.visit_number or "")[:64] or None
            if message.patient_class == "I" and step.kind == "applied"
            else None,
        }
        if ahead.reused:
            # A control id used again for another message (a PAS restarted its counter): this
            # message was applied, and the id now answers for it.
            work.connection.execute(
                update(adt_message)
                .where(
                    adt_message.c.sender == message.sender,
                    adt_message.c.control_id == message.control_id,
                )
                .values(**record)
            )
        else:
            record |= {"sender": message.sender, "control_id": message.control_id}
            work.connection.execute(_RECORD, record)
        return outcome


_RECORD = adt_message.insert()


def processing_summary(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = "duplicate" if outcome.duplicate else outcome.code
        counts[key] = counts.get(key, 0) + 1
    return counts
