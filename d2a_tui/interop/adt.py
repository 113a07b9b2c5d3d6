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

from sqlalchemy import bindparam, select, update

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.interop.adt_triggers import Outcome, TriggerStep
from d2a_tui.interop.hl7v2 import AdtMessage, Rejected, ack, read_message
from d2a_tui.interop.tables import adt_message
from d2a_tui.storage.journeys import (
    JourneyStore,
    UnitOfWork,
    counter_table,
)
from d2a_tui.storage.models import EVENTS_COUNTER

Clock = Callable[[], datetime]


class AdtFeed:
    def __init__(
        self, store: JourneyStore, calendar: HubCalendar, device_id: str, clock: Clock
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.device_id = device_id
        self.clock = clock

    def handle(self, text: str) -> tuple[Outcome, bytes]:
        """Apply one message; its outcome and the ACK to send (after the commit)."""
        return self.handle_many([text])[0]

    def process(self, text: str) -> Outcome:
        return self.handle_many([text])[0][0]

    def handle_many(self, texts: list[str]) -> list[tuple[Outcome, bytes]]:
        """Apply messages in order in ONE transaction (a group commit: messages arriving together
        on several connections share a commit), each inside its own savepoint, so a message that
        cannot be applied (AE) takes nothing else with it. Every ACK is made after the commit; if
        the commit fails, every message is answered AE and nothing is saved."""
        now = self.clock()
        read: list[AdtMessage | Outcome] = []
        for text in texts:
            try:
                read.append(read_message(text, self.calendar.zone))
            except Rejected as error:
                read.append(Outcome("AR", str(error)))
        outcomes: list[Outcome] = [item for item in read if isinstance(item, Outcome)]
        if len(outcomes) < len(read):
            try:
                outcomes = self._apply_all(read, now)
            except D2AError as error:
                outcomes = [
                    item if isinstance(item, Outcome) else Outcome("AE", str(error))
                    for item in read
                ]
        replies = []
        for text, item, outcome in zip(texts, read, outcomes, strict=True):
            source = item.parsed if isinstance(item, AdtMessage) else text
            replies.append((outcome, ack(source, outcome.code, outcome.detail, self.clock())))
        return replies

    def _apply_all(self, read: list[AdtMessage | Outcome], now: datetime) -> list[Outcome]:
        messages = [item for item in read if isinstance(item, AdtMessage)]
        if len(messages) == 1:
            # Alone in its transaction: a refusal rolls the whole of it back, no savepoint needed.
            try:
                with self.store.unit_of_work() as work:
                    alone = self._apply_one(work, messages[0], now)
            except D2AError as error:
                alone = Outcome("AE", str(error))
            return [alone if isinstance(item, AdtMessage) else item for item in read]
        outcomes: list[Outcome] = []
        with self.store.unit_of_work() as work:
            # A write first: it takes SQLite's write lock and PostgreSQL's counter row lock before
            # anything is read, and opens the transaction the savepoints below nest in.
            work.connection.execute(_TOUCH_COUNTER)
            for item in read:
                if isinstance(item, Outcome):
                    outcomes.append(item)
                    continue
                savepoint = work.connection.begin_nested()
                try:
                    outcomes.append(self._apply_one(work, item, now))
                    savepoint.commit()
                except D2AError as error:
                    savepoint.rollback()
                    outcomes.append(Outcome("AE", str(error)))
        return outcomes

    def _apply_one(self, work: UnitOfWork, message: AdtMessage, now: datetime) -> Outcome:
        done = work.connection.execute(
            _DONE, {"sender": message.sender, "control_id": message.control_id}
        ).first()
        if done is not None:
            return Outcome(
                "AA", "already applied; nothing changed", done.journey_id, duplicate=True
            )
        step = TriggerStep(self, work, message, now)
        outcome = step.run()
        work.connection.execute(
            _RECORD,
            {
                "sender": message.sender,
                "control_id": message.control_id,
                "message_type": message.message_type,
                "received_at": now,
                "outcome": step.kind,
                "detail": outcome.detail,
                "journey_id": outcome.journey_id,
            },
        )
        return outcome


_TOUCH_COUNTER = (
    update(counter_table)
    .where(counter_table.c.name == EVENTS_COUNTER)
    .values(value=counter_table.c.value)
)
_DONE = select(adt_message.c.outcome, adt_message.c.journey_id).where(
    adt_message.c.sender == bindparam("sender"), adt_message.c.control_id == bindparam("control_id")
)
_RECORD = adt_message.insert()


def processing_summary(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = "duplicate" if outcome.duplicate else outcome.code
        counts[key] = counts.get(key, 0) + 1
    return counts
