"""What each ADT trigger does to the journeys, inside its message's transaction (see adt.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, literal_column, select, update

from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.ids import new_journey_id, uuid7
from d2a_tui.domain.limits import FieldRejected, check_text
from d2a_tui.interop.hl7v2 import AdtMessage, Identity
from d2a_tui.interop.tables import adt_exception, adt_identifier, adt_message
from d2a_tui.storage.journeys import (
    Actor,
    UnitOfWork,
    event_table,
    journey_table,
    patient_table,
    state_from_row,
)


class Feed(Protocol):
    """What a trigger needs of the feed that runs it (`adt.AdtFeed`, which imports this module)."""

    @property
    def calendar(self) -> HubCalendar: ...
    @property
    def device_id(self) -> str: ...
    def profile(self, sender: str) -> SenderProfile: ...


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """How one sender (MSH-4) writes what d2a reads, where profiles differ: which component of
    PV1-3 holds the ward and the bed (the ITK profile puts the site code in PV1-3.1), and which
    PV1-36 discharge dispositions mean the person died (NHS discharge method 4 died,
    5 stillbirth)."""

    ward: int = 1
    bed: int = 3
    died: frozenset[str] = frozenset({"4", "5"})


# Triggers about a hospital stay: only an inpatient encounter, or the stay the journey is about
# (by PV1-19 visit number), changes a journey.
_ENCOUNTER_TRIGGERS = frozenset({"A01", "A02", "A03", "A04", "A11", "A13"})


class AdtError(D2AError):
    """The message cannot be applied as it stands (AE); nothing is saved."""


@dataclass(frozen=True, slots=True)
class Outcome:
    code: str  # AA, AE or AR
    detail: str
    journey_id: str | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class _Patient:
    id: str
    nhs_number: str
    name: str
    date_of_birth: Any


@dataclass(frozen=True, slots=True)
class Known:
    """What one statement read ahead of a message's trigger: the patient under its PID-3 NHS
    number (None: no such patient) and their open journeys, oldest referral first."""

    nhs_number: str
    patient: _Patient | None
    open_journeys: list[Any]


@dataclass(frozen=True, slots=True)
class ReadAhead:
    applied_before: bool  # this very message (sender, control id and content) was applied
    applied_journey: str | None  # the journey it was applied to, then
    known: Known | None  # None when applied before, or when PID-3 holds no valid NHS number
    reused: bool = False  # the control id was applied before to a different message


def read_ahead(connection: Connection, message: AdtMessage) -> ReadAhead:
    """Whether the message was applied before, and what its trigger will look up first, in one
    round trip: on PostgreSQL a message's time is mostly round trips, and these three lookups
    are made by nearly every message."""
    nhs = message.patient.nhs_number
    rows = connection.execute(
        _READ_AHEAD, {"sender": message.sender, "control_id": message.control_id, "nhs": nhs}
    ).all()
    first = rows[0]
    reused = first.done_outcome is not None
    # A row without a digest predates migration 0020: its id alone decides, as it did then.
    if reused and first.done_digest in (None, message.digest):
        return ReadAhead(True, first.done_journey, None)
    if nhs is None or message.patient.bad_nhs_number:
        return ReadAhead(False, None, None, reused)
    patient = (
        None
        if first.patient_id is None
        else _Patient(first.patient_id, nhs, first.patient_name, first.patient_date_of_birth)
    )
    journeys = [row for row in rows if row.id is not None]
    return ReadAhead(False, None, Known(nhs, patient, journeys), reused)


class TriggerStep:
    """One message's work inside its transaction."""

    def __init__(
        self,
        feed: Feed,
        work: UnitOfWork,
        message: AdtMessage,
        now: datetime,
        known: Known | None = None,
    ):
        self.feed, self.work, self.m, self.now = feed, work, message, now
        self.known = known
        self.c: Connection = work.connection
        self.actor = Actor(f"adt:{message.sender}", feed.device_id)
        self.kind = "applied"
        self.profile = feed.profile(message.sender)
        self.ward = message.location.component(self.profile.ward)
        self.bed = message.location.component(self.profile.bed)
        self.patient_id: str | None = None  # the patient the message was matched to

    def run(self) -> Outcome:
        m = self.m
        if m.trigger == "A40":
            return self._merge()
        patient = self._patient(m.patient, required=False)
        if patient is not None:
            self.patient_id = patient.id
        if (
            patient is None
            and m.trigger not in ("A01", "A04")
            and not (
                m.trigger in ("A02", "A03", "A11") and self._pending(m.patient.nhs_number or "")
            )
        ):
            # A whole-trust feed speaks of everyone: a person the hub does not follow is no error
            # (an AE would fill the sender's retry queue), and nothing is kept of them.
            self.kind = "ignored"
            return Outcome("AA", "not on the hub: nothing to do")
        if m.trigger in _ENCOUNTER_TRIGGERS and not self._inpatient(patient):
            self.kind = "ignored"
            return Outcome(
                "AA", f"not an inpatient stay (PV1-2 = {m.patient_class or 'blank'}): no change"
            )
        if patient is not None and self._mismatch(patient, m.patient):
            return self._hold(
                "mismatch", "the date of birth differs from the hub's record", patient
            )
        handler = {
            "A01": self._admit, "A04": self._admit, "A02": self._transfer, "A03": self._discharge,
            "A08": self._update, "A11": self._cancel_admit, "A13": self._cancel_discharge,
        }[m.trigger]  # fmt: skip
        return handler(patient)

    # --- lookups ---------------------------------------------------------------------------------

    def _inpatient(self, patient: _Patient | None) -> bool:
        """An inpatient encounter (PV1-2 = I), or the visit an open journey of this patient is
        about (its PV1-19 visit number, from the inpatient admission applied to it)."""
        m = self.m
        if m.patient_class == "I":
            return True
        if patient is None or not m.visit_number:
            return False
        ids = [j.id for j in self._journeys(patient, open_only=False)]
        if not ids:
            return False
        found = self.c.execute(
            select(adt_message.c.journey_id)
            .where(adt_message.c.journey_id.in_(ids), adt_message.c.visit_number == m.visit_number)
            .limit(1)
        ).first()
        return found is not None

    def _patient(self, identity: Identity, *, required: bool) -> _Patient | None:
        if identity.bad_nhs_number:
            raise AdtError("the NHS number in PID-3 fails validation (modulus 11)")
        if identity.nhs_number is None:
            raise AdtError("no NHS number in PID-3 (assigning authority NHS, type NH)")
        if self.known is not None and self.known.nhs_number == identity.nhs_number:
            patient = self.known.patient
        else:
            row = self.c.execute(_PATIENT_BY_NHS, {"nhs": identity.nhs_number}).first()
            patient = (
                None
                if row is None
                else _Patient(row.id, row.nhs_number, row.name, row.date_of_birth)
            )
        if patient is None and required:
            raise AdtError(f"no patient with NHS number …{identity.nhs_number[-4:]} on the hub")
        return patient

    @staticmethod
    def _mismatch(patient: _Patient, identity: Identity) -> bool:
        return (
            identity.date_of_birth is not None and identity.date_of_birth != patient.date_of_birth
        )

    def _journeys(self, patient: _Patient, *, open_only: bool) -> list[Any]:
        known = self.known
        if open_only and known is not None and known.patient == patient:
            # Read before anything of this message was written: a trigger asks once.
            return known.open_journeys
        query = _OPEN_JOURNEYS if open_only else _JOURNEYS
        return list(self.c.execute(query, {"patient": patient.id}))

    def _open_journey(self, patient: _Patient | None) -> Any | None:
        if patient is None:
            return None
        journeys = self._journeys(patient, open_only=True)
        return journeys[-1] if journeys else None

    def _pending(self, nhs: str) -> Any | None:
        return self.c.execute(_PENDING, {"nhs": nhs}).first()

    def _execute(self, command: str, args: dict[str, Any], journey: Any) -> Outcome:
        """`journey`: its row, as just read in this transaction."""
        applied = self.work.execute(
            command, args, self.actor, self.m.occurred_at,
            journey_id=journey.id, recorded_at=self.now, current=state_from_row(journey),
        )  # fmt: skip
        return Outcome("AA", f"{applied.event.kind} on journey {journey.id[:8]}", journey.id)

    def _checked(self) -> None:
        """The message's text within the field limits every entry meets (names, wards, beds:
        length and no control characters), before any of it is kept."""
        m = self.m
        fields = (("name", m.patient.name, "PID-5 name"), ("ward", self.ward, "the ward (PV1-3)"),
                  ("bed", self.bed, "the bed (PV1-3)"))  # fmt: skip
        for key, value, what in fields:
            if value is not None:
                try:
                    check_text(key, value, what)
                except FieldRejected as error:
                    raise AdtError(str(error)) from None

    def _hold(
        self, kind: str, reason: str, patient: _Patient | None, journey_id: str | None = None
    ) -> Outcome:
        m = self.m
        self._checked()
        self.kind = "held" if kind != "admitted" else "pending"
        self.c.execute(
            adt_exception.insert().values(
                id=uuid7(), kind=kind, created_at=self.now, sender=m.sender,
                control_id=m.control_id, message_type=m.message_type, reason=reason,
                nhs_number=m.patient.nhs_number or (patient.nhs_number if patient else None),
                name=m.patient.name, date_of_birth=m.patient.date_of_birth, ward=self.ward,
                bed=self.bed,
                admitted_at=m.admitted_at or (m.occurred_at if kind == "admitted" else None),
                journey_id=journey_id, message=m.text,
            )
        )  # fmt: skip
        prefix = {"admitted": "on the admissions list", "discharged": "listed for the hub"}.get(
            kind, "held for a person"
        )
        return Outcome("AA", f"{prefix}: {reason}", journey_id)

    def _resolve(self, row_id: str, resolution: str) -> None:
        self.c.execute(
            update(adt_exception)
            .where(adt_exception.c.id == row_id)
            .values(resolved_at=self.now, resolved_by=self.actor.user, resolution=resolution)
        )

    # --- the triggers ----------------------------------------------------------------------------

    def _admit(self, patient: _Patient | None) -> Outcome:
        m = self.m
        journey = self._open_journey(patient)
        admitted = self.feed.calendar.day(m.admitted_at or m.occurred_at)
        if journey is None:
            reason = f"admitted {admitted:%d %b %Y}, not referred yet"
            pending = self._pending(m.patient.nhs_number or "")
            if pending is not None:
                # One entry per person on the admissions list, brought up to date.
                self._checked()
                self.c.execute(
                    update(adt_exception).where(adt_exception.c.id == pending.id).values(
                        control_id=m.control_id, message_type=m.message_type, reason=reason,
                        name=m.patient.name or pending.name, ward=self.ward, bed=self.bed,
                        admitted_at=m.admitted_at or m.occurred_at, message=m.text,
                    )
                )  # fmt: skip
                self.kind = "pending"
                return Outcome("AA", f"on the admissions list: {reason}")
            return self._hold("admitted", reason, patient)
        args = {"admitted_on": admitted.isoformat(), "ward": self.ward, "bed": self.bed}
        return self._execute("record_admission", args, journey)

    def _transfer(self, patient: _Patient | None) -> Outcome:
        m = self.m
        journey = self._open_journey(patient)
        if journey is None:
            pending = self._pending(m.patient.nhs_number or "")
            if pending is None:
                self.kind = "ignored"
                return Outcome("AA", "no open journey or admission on the hub: nothing to do")
            self._checked()
            self.c.execute(
                update(adt_exception)
                .where(adt_exception.c.id == pending.id)
                .values(ward=self.ward, bed=self.bed)
            )
            self.kind = "pending"
            return Outcome("AA", "moved ward before referral: the admission list is updated")
        return self._execute("set_ward", {"ward": self.ward, "bed": self.bed}, journey)

    def _discharge(self, patient: _Patient | None) -> Outcome:
        m = self.m
        journey = self._open_journey(patient)
        at = m.discharged_at or m.occurred_at
        if journey is None:
            pending = self._pending(m.patient.nhs_number or "")
            if pending is None:
                self.kind = "ignored"
                return Outcome("AA", "no open journey or admission on the hub: nothing to do")
            self._resolve(pending.id, "discharged by the hospital before a referral")
            self.kind = "pending"
            return Outcome("AA", "discharged before referral: taken off the admission list")
        died = m.disposition in self.profile.died or m.patient.died
        args: dict[str, Any] = {"at": at.astimezone(UTC).isoformat(), "ward": self.ward}
        if died:
            args["died"] = True
        outcome = self._execute("record_hospital_discharge", args, journey)
        column = self.work.flow.column(journey.column_id)
        if died:
            local = at.astimezone(self.feed.calendar.zone)
            self._hold(
                "died",
                f"the hospital recorded a death at {local:%d %b %H:%M}: close the journey as died",
                patient, journey.id,
            )  # fmt: skip
            self.kind = "applied"
        elif column.in_hospital:
            local = at.astimezone(self.feed.calendar.zone)
            self._hold(
                "discharged",
                f"the hospital discharged the person at {local:%d %b %H:%M} while the journey waits "
                f"in {column.name}: move or close it",
                patient, journey.id,
            )  # fmt: skip
            self.kind = "applied"
        return outcome

    def _update(self, patient: _Patient | None) -> Outcome:
        assert patient is not None
        m = self.m
        corrected = self._corrected_admission(patient)
        name = m.patient.name or patient.name
        if name == patient.name:
            if corrected is not None:
                return corrected
            self.kind = "ignored"
            return Outcome("AA", "no change to the name, date of birth or admission")
        journeys = self._journeys(patient, open_only=False)
        if not journeys:
            raise AdtError("the patient has no journey to record the change on")
        args = {
            "name": name, "date_of_birth": patient.date_of_birth.isoformat(),
            "previous_name": patient.name, "previous_date_of_birth": patient.date_of_birth.isoformat(),
        }  # fmt: skip
        return self._execute("update_demographics", args, journeys[-1])

    def _corrected_admission(self, patient: _Patient) -> Outcome | None:
        """An A08 whose PV1-44 gives another admission date for the journey's inpatient stay:
        the PAS corrected it, and it holds for the whole stay (the figures read it so)."""
        m = self.m
        journey = self._open_journey(patient)
        if m.admitted_at is None or journey is None or not self._inpatient(patient):
            return None
        admitted = self.feed.calendar.day(m.admitted_at)
        if journey.admitted_on == admitted:
            return None
        args = {"admitted_on": admitted.isoformat(), "ward": journey.ward, "bed": journey.bed}
        return self._execute("record_admission", args, journey)

    def _latest(self, journey_id: str, kind: EventKind) -> Any | None:
        return self.c.execute(
            select(event_table)
            .where(event_table.c.journey_id == journey_id, event_table.c.kind == str(kind))
            .order_by(event_table.c.seq.desc())
            .limit(1)
        ).first()

    def _cancel_admit(self, patient: _Patient | None) -> Outcome:
        m = self.m
        journey = self._open_journey(patient)
        if journey is None:
            pending = self._pending(m.patient.nhs_number or "")
            if pending is None:
                raise AdtError("no admission to cancel for this patient")
            self._resolve(pending.id, f"admission cancelled ({m.message_type} {m.control_id})")
            self.kind = "pending"
            return Outcome("AA", "admission cancelled: taken off the admission list")
        event = self._latest(journey.id, EventKind.ADMISSION_RECORDED)
        if event is None or event.payload.get("cancels"):
            raise AdtError(f"journey {journey.id[:8]} has no admission from the feed to cancel")
        p = event.payload
        args = {
            "admitted_on": p.get("previous_admitted_on"), "ward": p.get("previous_ward"),
            "bed": p.get("previous_bed"), "cancels": event.event_id,
        }  # fmt: skip
        return self._execute("record_admission", args, journey)

    def _cancel_discharge(self, patient: _Patient | None) -> Outcome:
        assert patient is not None
        journeys = self._journeys(patient, open_only=False)
        for journey in reversed(journeys):
            event = self._latest(journey.id, EventKind.HOSPITAL_DISCHARGE_RECORDED)
            if event is not None and event.payload.get("at") and journey.closed_at is not None:
                # The hub closed the journey on the hospital's word: the person is back on a
                # ward (or never left) and nobody on the board would know. A person decides.
                return self._hold(
                    "reopen",
                    "the hospital cancelled its discharge (A13) after the hub closed the "
                    "journey: the person may still be on a ward; reopen it or note why not",
                    patient, journey.id,
                )  # fmt: skip
            if event is not None and event.payload.get("at"):
                for row in self.c.execute(
                    select(adt_exception.c.id).where(
                        adt_exception.c.journey_id == journey.id,
                        adt_exception.c.kind.in_(("discharged", "died")),
                        adt_exception.c.resolved_at.is_(None),
                    )
                ):
                    self._resolve(row.id, "the hospital cancelled the discharge (A13)")
                args = {"at": None, "cancels": event.event_id}
                return self._execute("record_hospital_discharge", args, journey)
        raise AdtError("no hospital discharge to cancel for this patient")

    def _by_identifier(self, identity: Identity) -> _Patient | None:
        """The patient a message once matched under one of these other identifiers (an MRN)."""
        for value, authority in identity.others:
            row = self.c.execute(
                select(patient_table)
                .join(adt_identifier, adt_identifier.c.patient_id == patient_table.c.id)
                .where(
                    adt_identifier.c.identifier == value[:64],
                    adt_identifier.c.authority == authority[:64],
                )
            ).first()
            if row is not None:
                return _Patient(row.id, row.nhs_number, row.name, row.date_of_birth)
        return None

    def _merge(self) -> Outcome:
        m = self.m
        assert m.prior is not None
        # The record merged away, by whatever identifier MRG-1 gives: its NHS number, or an
        # identifier (the MRN) the hub has seen with that patient.
        prior = None
        if m.prior.nhs_number is not None:
            prior = self._patient(m.prior, required=False)
        if prior is None:
            prior = self._by_identifier(m.prior)
        if prior is None:
            if m.prior.bad_nhs_number:
                raise AdtError("the NHS number in MRG-1 fails validation (modulus 11)")
            self.kind = "ignored"
            return Outcome("AA", "the merged-away record is not on the hub: nothing to do")
        surviving = (
            self._patient(m.patient, required=False)
            if m.patient.nhs_number or m.patient.bad_nhs_number
            else self._by_identifier(m.patient)
        )
        if surviving is None and m.patient.nhs_number is None:
            raise AdtError("no NHS number in PID-3 for the surviving record")
        if surviving is not None and surviving.id == prior.id:
            self.kind = "ignored"
            return Outcome("AA", "the two records are already one")
        old = self._journeys(prior, open_only=False)
        if (
            surviving is not None
            and self._open_journey(surviving)
            and any(j.closed_at is None for j in old)
        ):
            return self._hold(
                "merge", "both records have an open journey: join them by hand", surviving
            )
        if surviving is None:
            born = m.patient.date_of_birth or prior.date_of_birth
            target = {
                "id": new_journey_id(), "nhs_number": m.patient.nhs_number,
                "name": m.patient.name or prior.name, "date_of_birth": born.isoformat(),
                "existing": False,
            }  # fmt: skip
        else:
            target = {
                "id": surviving.id, "nhs_number": surviving.nhs_number, "name": surviving.name,
                "date_of_birth": surviving.date_of_birth.isoformat(), "existing": True,
            }  # fmt: skip
        last: Outcome | None = None
        for journey in old:
            args = {"patient": dict(target), "previous_nhs_number": prior.nhs_number}
            last = self._execute("merge_patient", args, journey)
            target["existing"] = True
        if last is None:
            self.kind = "ignored"
            return Outcome("AA", "the merged-away record has no journeys")
        return Outcome(
            "AA",
            f"{len(old)} journey(s) joined under NHS number …{str(target['nhs_number'])[-4:]}",
            last.journey_id,
        )


# The lookups every message makes, built once (building and keying a statement per message
# was a noticeable part of a message's time).
_PATIENT_BY_NHS = select(patient_table).where(patient_table.c.nhs_number == bindparam("nhs"))
_JOURNEYS = (
    select(journey_table)
    .where(journey_table.c.patient_id == bindparam("patient"))
    .order_by(journey_table.c.referred_at)
)
_OPEN_JOURNEYS = _JOURNEYS.where(journey_table.c.closed_at.is_(None))
_READ_AHEAD = (
    select(
        adt_message.c.outcome.label("done_outcome"),
        adt_message.c.journey_id.label("done_journey"),
        adt_message.c.digest.label("done_digest"),
        patient_table.c.id.label("patient_id"),
        patient_table.c.name.label("patient_name"),
        patient_table.c.date_of_birth.label("patient_date_of_birth"),
        *journey_table.c,
    )
    # One row however much is missing: each lookup is a LEFT JOIN off a constant row.
    .select_from(select(literal_column("1").label("one")).subquery("anchor"))
    .outerjoin(
        adt_message,
        and_(
            adt_message.c.sender == bindparam("sender"),
            adt_message.c.control_id == bindparam("control_id"),
        ),
    )
    .outerjoin(patient_table, patient_table.c.nhs_number == bindparam("nhs"))
    .outerjoin(
        journey_table,
        and_(journey_table.c.patient_id == patient_table.c.id, journey_table.c.closed_at.is_(None)),
    )
    .order_by(journey_table.c.referred_at)
)


def remember_identifiers(connection: Connection, identity: Identity, patient_id: str) -> None:
    """Keep the identifiers a message carried beside the NHS number (the MRN) for its patient,
    so a later merge that names the record by one of them finds it."""
    known = {
        (row.authority, row.identifier)
        for row in connection.execute(
            select(adt_identifier.c.authority, adt_identifier.c.identifier).where(
                adt_identifier.c.identifier.in_([v[:64] for v, _ in identity.others])
            )
        )
    }
    rows = [
        {"authority": a[:64], "identifier": v[:64], "patient_id": patient_id}
        for v, a in identity.others
        if (a[:64], v[:64]) not in known
    ]
    if rows:
        connection.execute(adt_identifier.insert(), rows)


_PENDING = select(adt_exception).where(
    adt_exception.c.kind == "admitted",
    adt_exception.c.nhs_number == bindparam("nhs"),
    adt_exception.c.resolved_at.is_(None),
)
