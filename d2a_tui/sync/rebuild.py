"""A replica's journeys rebuilt from the server's events and its own pending changes.

The local database holds the server's events ("confirmed") and, on top, the events of this
device's changes the server has not yet sent back ("provisional": their ids are in the outbox,
unconfirmed). When the server's events for a journey arrive, or the server answers that one of
our changes conflicted, the journey is rebuilt: confirmed events, then our pending changes judged
again by the server's own rule (`rules.judge`). So the user keeps seeing their pending changes,
on top of everyone else's, until the server has decided.

Events are written through the event log (`storage/event_log.py`). The server's events are not
checked against the field limits again: the server's log is the truth a replica follows, and a
replica that refused part of it would show a different journey from everyone else's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from d2a_tui.domain.calendar import LONDON, HubCalendar
from d2a_tui.domain.events import Event, EventKind, JourneyState, ReplayError, apply
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.handler import recorded_event
from d2a_tui.domain.offers import OFFER_COMMANDS, OfferContext, fold
from d2a_tui.storage.event_log import EventLog, row_from_event
from d2a_tui.storage.journeys import (
    event_from_row,
    event_table,
    journey_table,
    patient_table,
    row_from_state,
)
from d2a_tui.storage.models import table_of
from d2a_tui.sync.models import SyncOutbox
from d2a_tui.sync.protocol import PulledEvent
from d2a_tui.sync.rules import judge

outbox_table = table_of(SyncOutbox)
LIVE = ("pending", "applied")  # statuses whose change still shows locally


class Rebuilder:
    """Integrates pulled events into the replica's journeys, in the caller's transaction."""

    def __init__(self, flow: Flow, device_id: str) -> None:
        self.flow = flow
        self.device_id = device_id
        self.calendar: HubCalendar = LONDON  # the hub's: its checks count "today" in it

    def integrate(self, connection: Connection, journey_id: str, pulled: list[PulledEvent]) -> bool:
        local = connection.execute(
            select(event_table.c.event_id, event_table.c.seq, event_table.c.payload)
            .where(event_table.c.journey_id == journey_id)
            .order_by(event_table.c.seq)
        ).all()
        unconfirmed = self.unconfirmed(connection, journey_id)
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
        self.rebuild(connection, journey_id, new)
        return True

    def unconfirmed(self, connection: Connection, journey_id: str) -> dict[str, Any]:
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

    def rebuild(self, connection: Connection, journey_id: str, new: list[PulledEvent]) -> None:
        """Journey = confirmed events + `new` server events + our live changes judged again."""
        rows = connection.execute(
            select(event_table)
            .where(event_table.c.journey_id == journey_id)
            .order_by(event_table.c.seq)
        ).all()
        unconfirmed = self.unconfirmed(connection, journey_id)
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
                # The referral as this replica decided it when it was made (its local payload).
                event = recorded_event(
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
            offers = None
            if body["command"] in OFFER_COMMANDS:
                # The journey's offers as rebuilt so far; the services are the server's to check.
                offers = OfferContext(fold(history + provisional), None, row.mutation_id)
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
                offers=offers,
            )
            if verdict.outcome == "applied" and verdict.event is not None:
                provisional.append(verdict.event)
                by_id[verdict.event.event_id] = verdict.event
                state = verdict.state
            # Otherwise it stays queued but unseen: the server will most likely refuse it too,
            # and will say so; a change never shows on a journey it cannot apply to.

        # Write: drop every unconfirmed event, then the projection, then the events.
        log = EventLog(connection)
        log.drop(journey_id, unconfirmed)
        to_insert = incoming + provisional
        count = max(len(to_insert), 1)
        top = log.reserve(count)
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
            patient = referral.payload["patient"]
            for event in history:
                # A merge (ADT A40) moved the journey to the surviving patient, who may be new
                # to this replica: the journey belongs to them from then on.
                if event.kind is EventKind.PATIENT_MERGED:
                    patient = event.payload["patient"]
            values["patient_id"] = self._ensure_patient(connection, patient)
            if exists is None:
                connection.execute(journey_table.insert().values(**values))
            else:
                connection.execute(
                    update(journey_table).where(journey_table.c.id == journey_id).values(**values)
                )
        if to_insert:
            incoming_devices = {event.event_id: event.device_id for event in new}
            recorded = {event.event_id: event.recorded_at for event in new}
            log.insert_rows(
                [
                    row_from_event(
                        event,
                        position,
                        incoming_devices.get(
                            event.event_id, kept_devices.get(event.event_id, self.device_id)
                        ),
                        recorded.get(event.event_id, event.occurred_at),
                    )
                    for position, event in zip(positions, to_insert, strict=False)
                ]
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
            local_id: str = found.id
            return local_id
        connection.execute(
            patient_table.insert().values(
                id=patient["id"],
                nhs_number=patient["nhs_number"],
                name=patient["name"],
                family_name=patient.get("family_name"),
                date_of_birth=date.fromisoformat(patient["date_of_birth"]),
                locality=patient.get("locality"),
            )
        )
        new_id: str = patient["id"]
        return new_id

    def _drop_orphan_patient(self, connection: Connection, patient_id: str) -> None:
        # A patient typed into a referral the server refused: keep no data about them.
        others = connection.execute(
            select(func.count())
            .select_from(journey_table)
            .where(journey_table.c.patient_id == patient_id)
        ).scalar_one()
        if not others:
            connection.execute(delete(patient_table).where(patient_table.c.id == patient_id))
