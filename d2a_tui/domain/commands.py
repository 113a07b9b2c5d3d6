"""Commands a user can give, checked against the flow and turned into the one event they mean.

Pure decisions: the same state, command and day always give the same event or the same refusal.
The direct-database hub and the sync server both call `decide`, so a rule holds however a change
arrives.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from d2a_tui.domain import nhs_number
from d2a_tui.domain.delays import delay_reason
from d2a_tui.domain.errors import InvalidInput, NotAllowed
from d2a_tui.domain.events import Event, EventKind, JourneyState
from d2a_tui.domain.flow import PATHWAYS, Flow
from d2a_tui.domain.limits import MAX_NOTE_LENGTH, FieldRejected, check_date, check_offset
from d2a_tui.domain.offers import OFFER_ARGS, OFFER_COMMANDS, OfferContext, decide_offer
from d2a_tui.domain.outcomes import destination as discharge_destination
from d2a_tui.domain.outcomes import outcome_text

COMMANDS = (
    "refer",
    "move",
    "close",
    "reopen",
    "set_delay",
    "clear_delay",
    "set_ready_date",
    "set_expected_date",
    "set_ward",
    "add_note",
    "retract_note",
    "assign",
    "acknowledge",
    "record_admission",
    "record_hospital_discharge",
    "update_demographics",
    "merge_patient",
    *OFFER_COMMANDS,
)
# What the hospital's PAS says (the ADT feed, interop/) or an administrator corrects: where and
# who the person is, and when the hospital let them go. No user's device sends these: a hub's
# user who could would rename another locality's patient or forge a discharge.
FEED_COMMANDS = frozenset(
    {"record_admission", "record_hospital_discharge", "update_demographics", "merge_patient"}
)
Decision = tuple[EventKind, dict[str, Any]]
# The arguments each command takes; any other key is refused rather than silently dropped, so a
# client that believes it sent something learns that it did not.
ARGS: dict[str, frozenset[str]] = {
    "refer": frozenset(
        {
            "patient",
            "ward",
            "bed",
            "pathway",
            "admitted_on",
            "discharge_ready_date",
            "expected_discharge_date",
        }
    ),
    "move": frozenset({"to", "outcome", "destination"}),
    "close": frozenset({"outcome", "destination"}),
    "reopen": frozenset({"to", "undischarged"}),
    "set_delay": frozenset({"code"}),
    "clear_delay": frozenset(),
    "set_ready_date": frozenset({"date"}),
    "set_expected_date": frozenset({"date"}),
    "set_ward": frozenset({"ward", "bed"}),
    "add_note": frozenset({"text"}),
    "retract_note": frozenset({"note_event_id", "text"}),
    "assign": frozenset({"to"}),
    "acknowledge": frozenset({"reason", "until"}),
    # From the hospital's ADT feed (d2a_tui/interop):
    "record_admission": frozenset({"admitted_on", "ward", "bed", "cancels"}),
    "record_hospital_discharge": frozenset({"at", "ward", "cancels", "died"}),
    "update_demographics": frozenset(
        {"name", "date_of_birth", "previous_name", "previous_date_of_birth"}
    ),
    "merge_patient": frozenset({"patient", "previous_nhs_number"}),
    **OFFER_ARGS,
}
PATIENT_FIELDS = frozenset(
    {"nhs_number", "name", "family_name", "date_of_birth", "locality", "id", "existing"}
)
_EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def parse_date(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return check_date(value, what)
    if not isinstance(value, str):
        raise FieldRejected("bad_field", f"{what} must be a date like 2026-11-23")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-11-23, got {value!r}") from None
    return check_date(parsed, what)


def _check_keys(given: Any, allowed: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise FieldRejected("bad_field", f"{what} must be an object")
    unknown = sorted(str(key) for key in given if key not in allowed)
    if unknown:
        raise FieldRejected(
            "unknown_field", f"{what} has fields this version does not know: {', '.join(unknown)}"
        )
    return given


def _not_future(value: date | None, what: str, today: date) -> None:
    if value is not None and value > today:
        raise InvalidInput(f"{what} {value.isoformat()} is in the future")


def decide(
    flow: Flow,
    state: JourneyState | None,
    command: str,
    args: dict[str, Any],
    today: date,
    offers: OfferContext | None = None,
) -> Decision:
    """`offers` is what an offer command is judged against (the journey's offers, the
    services, who acts); the caller reads it in the command's transaction."""
    if command == "refer":
        if state is not None:
            raise NotAllowed("this journey already exists")
        return _refer(flow, args, today)
    if state is None:
        raise InvalidInput(f"{command} needs an existing journey")
    closed = flow.column(state.column).is_closed if state.column in _ids(flow) else False
    if closed and command not in (
        "reopen",
        "add_note",
        "retract_note",
        "update_demographics",
        "merge_patient",
    ):
        raise NotAllowed("the journey is closed; reopen it first")
    if command in OFFER_COMMANDS:
        _check_keys(args, ARGS[command], f"{command}'s arguments")
        if offers is None:
            raise InvalidInput(f"{command} needs the journey's offers and the services")
        return decide_offer(state, command, args, today, offers)
    handler = _HANDLERS.get(command)
    if handler is None:
        raise InvalidInput(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    _check_keys(args, ARGS[command], f"{command}'s arguments")
    return handler(flow, state, args, today)


def _ids(flow: Flow) -> set[str]:
    return {column.id for column in flow.columns}


def _refer(flow: Flow, args: dict[str, Any], today: date) -> Decision:
    _check_keys(args, ARGS["refer"], "refer's arguments")
    patient = dict(_check_keys(args.get("patient"), PATIENT_FIELDS, "the patient"))
    patient["nhs_number"] = nhs_number.normalise(str(patient.get("nhs_number", "")))
    name = str(patient.get("name") or "").strip()
    if not name:
        raise InvalidInput("name is required")
    patient["name"] = name
    # The family name as the source gave it (a sheet's surname column, HL7's XPN family name),
    # never cut from the full name by guessing: "Ó Briain" and "van der Berg" are not last words.
    family = _text_or_none(patient.pop("family_name", None))
    if family is not None:
        patient["family_name"] = family
    born = parse_date(patient.get("date_of_birth"), "date of birth")
    if born is None:
        raise InvalidInput("date of birth is required")
    _not_future(born, "date of birth", today)
    patient["date_of_birth"] = born.isoformat()
    admitted = parse_date(args.get("admitted_on"), "admitted date")
    _not_future(admitted, "admitted date", today)
    if admitted and admitted < born:
        raise InvalidInput("admitted date is before the date of birth")
    ready = parse_date(args.get("discharge_ready_date"), "discharge-ready date")
    _not_future(ready, "discharge-ready date", today)
    if ready and admitted and ready < admitted:
        raise InvalidInput("discharge-ready date is before the admission")
    expected = parse_date(args.get("expected_discharge_date"), "expected discharge date")
    pathway = args.get("pathway")
    if pathway is not None:
        pathway = str(pathway).upper()
        if pathway not in PATHWAYS:
            raise InvalidInput(
                f"pathway must be one of {', '.join(PATHWAYS)}, got {args.get('pathway')!r}"
            )
    return EventKind.REFERRED, {
        "patient": patient,
        "column": flow.entry.id,
        "pathway": pathway,
        "ward": _text_or_none(args.get("ward")),
        "bed": _text_or_none(args.get("bed")),
        "admitted_on": _iso(admitted),
        "discharge_ready_date": _iso(ready),
        "expected_discharge_date": _iso(expected),
    }


def _text_or_none(value: Any) -> str | None:
    if value is not None and not isinstance(value, str | int):
        raise FieldRejected("bad_field", "expected text")
    text = str(value).strip() if value is not None else ""
    return text or None


def _move(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    target = flow.column(str(args.get("to", "")))
    flow.check_move(state.column, target.id)
    source = flow.column(state.column)
    payload: dict[str, Any] = {
        "from": source.id,
        "to": target.id,
        "pathway": target.pathway or state.pathway,
        "previous_pathway": state.pathway,
        "discharged": source.in_hospital and not target.in_hospital and state.discharged_at is None,
        # The clock it had: undoing the move gives it back rather than restarting it.
        "previous_entered_at": state.entered_column_at.isoformat(),
    }
    if "outcome" in target.needs:
        outcome = args.get("outcome")
        if not outcome:
            raise InvalidInput(f"moving to {target.name} needs an outcome")
        outcome_text(outcome)
        payload["outcome"] = outcome
        destination = args.get("destination")
        payload["destination"] = discharge_destination(destination).code if destination else None
        return EventKind.CLOSED, payload
    destination = args.get("destination")
    if destination:
        if not payload["discharged"]:
            # Kept only with the discharge it describes; never dropped without a word.
            raise InvalidInput(
                "a destination goes with the move that discharges the person from hospital"
            )
        payload["destination"] = discharge_destination(destination).code
    return EventKind.MOVED, payload


def _close(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    return _move(flow, state, {**args, "to": flow.closed.id}, today)


def _reopen(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    if not flow.column(state.column).is_closed:
        raise NotAllowed("the journey is open already")
    target = flow.column(str(args.get("to") or flow.entry.id))
    if target.is_closed:
        raise NotAllowed("reopen into an open column")
    return EventKind.REOPENED, {
        "from": state.column,
        "to": target.id,
        "pathway": target.pathway or state.pathway,
        "previous_pathway": state.pathway,
        "previous_outcome": state.outcome,
        "previous_destination": state.destination,
        # Reopening into a hospital column resumes the same stay: the close was a mistake, so
        # its discharge is undone and the real one, later, is a discharge again.
        "undischarged": bool(args.get("undischarged", False))
        or (target.in_hospital and state.discharged_at is not None),
        "previous_entered_at": state.entered_column_at.isoformat(),
    }


def _set_delay(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    code = delay_reason(str(args.get("code", ""))).code
    if code == state.delay_reason:
        raise NotAllowed(f"the delay reason is already {code}")
    return EventKind.DELAY_SET, {"code": code, "previous": state.delay_reason}


def _clear_delay(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    if state.delay_reason is None:
        raise NotAllowed("the journey has no delay reason to clear")
    return EventKind.DELAY_CLEARED, {"previous": state.delay_reason}


def _set_ready_date(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    ready = parse_date(args.get("date"), "discharge-ready date")
    _not_future(ready, "discharge-ready date", today)
    if ready and state.admitted_on and ready < state.admitted_on:
        raise InvalidInput("discharge-ready date is before the admission")
    if ready == state.discharge_ready_date:
        raise NotAllowed("the discharge-ready date is already that")
    # Clearing the date records that the person meets the criteria to reside again: the clock stops.
    return EventKind.READY_DATE_SET, {
        "date": _iso(ready),
        "previous": _iso(state.discharge_ready_date),
    }


def _set_expected_date(
    flow: Flow, state: JourneyState, args: dict[str, Any], today: date
) -> Decision:
    expected = parse_date(args.get("date"), "expected discharge date")
    if expected == state.expected_discharge_date:
        raise NotAllowed("the expected discharge date is already that")
    return EventKind.EXPECTED_DATE_SET, {
        "date": _iso(expected),
        "previous": _iso(state.expected_discharge_date),
    }


def _set_ward(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    ward, bed = _text_or_none(args.get("ward")), _text_or_none(args.get("bed"))
    return EventKind.WARD_SET, {
        "ward": ward,
        "bed": bed,
        "previous_ward": state.ward,
        "previous_bed": state.bed,
    }


def _add_note(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    text = str(args.get("text") or "").strip()
    if not text:
        raise InvalidInput("a note cannot be empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"a note is at most {MAX_NOTE_LENGTH} characters, this one has {len(text)}"
        )
    return EventKind.NOTE_ADDED, {"text": text}


def _retract_note(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    if state.notes <= 0:
        raise NotAllowed("the journey has no note to retract")
    target = args.get("note_event_id")
    if not isinstance(target, str) or not _EVENT_ID.fullmatch(target):
        raise FieldRejected("bad_field", "retracting a note needs the note's event id")
    text = args.get("text", "")
    if not isinstance(text, str):
        raise FieldRejected("bad_field", "a retracted note's text must be text")
    return EventKind.NOTE_RETRACTED, {"note_event_id": target, "text": text}


def _assign(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    to = _text_or_none(args.get("to"))
    if to == state.assigned_to:
        raise NotAllowed(
            f"the journey is already assigned to {to}" if to else "the journey is not assigned"
        )
    return EventKind.ASSIGNED, {"to": to, "previous": state.assigned_to}


def _acknowledge(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    reason = str(args.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("acknowledging an alert needs a reason")
    until = args.get("until")
    if until is not None:
        try:
            moment = datetime.fromisoformat(str(until))
        except ValueError:
            raise FieldRejected(
                "bad_timestamp", "an acknowledgement's end must be a time"
            ) from None
        check_offset(moment, "the acknowledgement's end")
        check_date(moment.date(), "the acknowledgement's end")
        until = moment.isoformat()
    return EventKind.ALERT_ACKNOWLEDGED, {"until": until, "reason": reason}


def _record_admission(
    flow: Flow, state: JourneyState, args: dict[str, Any], today: date
) -> Decision:
    admitted = parse_date(args.get("admitted_on"), "admitted date")
    _not_future(admitted, "admitted date", today)
    if admitted and state.discharge_ready_date and admitted > state.discharge_ready_date:
        raise InvalidInput("the admission is after the discharge-ready date")
    return EventKind.ADMISSION_RECORDED, {
        "admitted_on": _iso(admitted),
        "ward": _text_or_none(args.get("ward")),
        "bed": _text_or_none(args.get("bed")),
        "previous_admitted_on": _iso(state.admitted_on),
        "previous_ward": state.ward,
        "previous_bed": state.bed,
        **_cancels(args),
    }


def _record_hospital_discharge(
    flow: Flow, state: JourneyState, args: dict[str, Any], today: date
) -> Decision:
    at = args.get("at")  # None: the hospital cancelled its discharge (A13)
    payload = {"at": at, "ward": _text_or_none(args.get("ward")), **_cancels(args)}
    if args.get("died") and at:
        # The hospital recorded a death (discharge method "died", or a date of death): the
        # figures count it as a death, never a discharge, when the hub closes the journey.
        payload["died"] = True
    return EventKind.HOSPITAL_DISCHARGE_RECORDED, payload


def _update_demographics(
    flow: Flow, state: JourneyState, args: dict[str, Any], today: date
) -> Decision:
    name = _text_or_none(args.get("name"))
    if not name:
        raise InvalidInput("name is required")
    born = parse_date(args.get("date_of_birth"), "date of birth")
    if born is None:
        raise InvalidInput("date of birth is required")
    _not_future(born, "date of birth", today)
    return EventKind.DEMOGRAPHICS_UPDATED, {
        "patient_id": state.patient_id,
        "name": name,
        "date_of_birth": born.isoformat(),
        "previous_name": args.get("previous_name"),
        "previous_date_of_birth": args.get("previous_date_of_birth"),
    }


def _merge_patient(flow: Flow, state: JourneyState, args: dict[str, Any], today: date) -> Decision:
    patient = dict(args["patient"])
    patient["nhs_number"] = nhs_number.normalise(str(patient.get("nhs_number", "")))
    if patient.get("id") == state.patient_id:
        raise NotAllowed("the journey is already under that patient")
    return EventKind.PATIENT_MERGED, {
        "patient": patient,
        "previous_patient_id": state.patient_id,
        "previous_nhs_number": args.get("previous_nhs_number"),
    }


def _cancels(args: dict[str, Any]) -> dict[str, Any]:
    return {"cancels": args["cancels"]} if args.get("cancels") else {}


_HANDLERS = {
    "move": _move,
    "close": _close,
    "reopen": _reopen,
    "set_delay": _set_delay,
    "clear_delay": _clear_delay,
    "set_ready_date": _set_ready_date,
    "set_expected_date": _set_expected_date,
    "set_ward": _set_ward,
    "add_note": _add_note,
    "retract_note": _retract_note,
    "assign": _assign,
    "acknowledge": _acknowledge,
    "record_admission": _record_admission,
    "record_hospital_discharge": _record_hospital_discharge,
    "update_demographics": _update_demographics,
    "merge_patient": _merge_patient,
}


def _still_as_left(state: JourneyState, target: Event) -> bool:
    """An earlier change may be undone while what it set still stands and the journey's latest
    change is by the same user: undoing, step by step, two moves of one card."""
    if state.updated_by != target.actor or target.seq > state.version:
        return False
    p = target.payload
    match target.kind:
        case EventKind.MOVED | EventKind.CLOSED | EventKind.REOPENED:
            return state.column == p.get("to")
        case EventKind.DELAY_SET:
            return state.delay_reason == p.get("code")
        case EventKind.DELAY_CLEARED:
            return state.delay_reason is None
        case EventKind.READY_DATE_SET:
            return _iso(state.discharge_ready_date) == p.get("date")
        case EventKind.EXPECTED_DATE_SET:
            return _iso(state.expected_discharge_date) == p.get("date")
        case EventKind.ASSIGNED:
            return state.assigned_to == p.get("to")
        case EventKind.WARD_SET:
            return (state.ward, state.bed) == (p.get("ward"), p.get("bed"))
    return False  # notes and acknowledgements: only the latest step


def compensate(state: JourneyState, target: Event) -> Decision:
    """The event that undoes `target`: the journey's latest step, or an earlier one of the same
    user whose effect still stands (`_still_as_left`).

    Undo never deletes: it appends the inverse, so undoing an undo redoes, and the log keeps both.
    """
    if target.journey_id != state.id:
        # An event of another journey: undoing it here would write that journey's inverse here.
        raise FieldRejected("wrong_journey", "cannot undo: that change belongs to another journey")
    if target.seq != state.version and not _still_as_left(state, target):
        raise NotAllowed(
            f"cannot undo: the journey has changed since (by {state.updated_by}), undo their change first"
        )
    p = target.payload
    undoes = {"undoes": target.event_id}
    # A move's undo puts the journey back with the clock it had (a red card stays red); the
    # undo records the clock it replaces, so that undoing the undo restores that in turn.
    clock = {
        "entered_at": p.get("previous_entered_at"),
        "previous_entered_at": state.entered_column_at.isoformat(),
    }
    match target.kind:
        case EventKind.MOVED:
            return EventKind.MOVED, {
                "from": p["to"],
                "to": p["from"],
                "pathway": p.get("previous_pathway"),
                "previous_pathway": state.pathway,
                "discharged": bool(p.get("undischarged")),
                "undischarged": bool(p.get("discharged")),
                **clock,
                **undoes,
            }
        case EventKind.CLOSED:
            return EventKind.REOPENED, {
                "from": p["to"],
                "to": p["from"],
                "pathway": p.get("previous_pathway"),
                "previous_pathway": state.pathway,
                "previous_outcome": p.get("outcome"),
                "previous_destination": p.get("destination"),
                "undischarged": bool(p.get("discharged")),
                **clock,
                **undoes,
            }
        case EventKind.REOPENED:
            return EventKind.CLOSED, {
                "from": p["to"],
                "to": p["from"],
                "pathway": p.get("previous_pathway"),
                "previous_pathway": state.pathway,
                "outcome": p.get("previous_outcome") or "other",
                "destination": p.get("previous_destination"),
                "discharged": bool(p.get("undischarged")),
                **clock,
                **undoes,
            }
        case EventKind.DELAY_SET:
            if p.get("previous"):
                return EventKind.DELAY_SET, {"code": p["previous"], "previous": p["code"], **undoes}
            return EventKind.DELAY_CLEARED, {"previous": p["code"], **undoes}
        case EventKind.DELAY_CLEARED:
            return EventKind.DELAY_SET, {"code": p["previous"], "previous": None, **undoes}
        case EventKind.READY_DATE_SET | EventKind.EXPECTED_DATE_SET | EventKind.ASSIGNED:
            key = "to" if target.kind is EventKind.ASSIGNED else "date"
            return target.kind, {key: p.get("previous"), "previous": p.get(key), **undoes}
        case EventKind.WARD_SET:
            return EventKind.WARD_SET, {
                "ward": p.get("previous_ward"),
                "bed": p.get("previous_bed"),
                "previous_ward": p.get("ward"),
                "previous_bed": p.get("bed"),
                **undoes,
            }
        case EventKind.NOTE_ADDED:
            return EventKind.NOTE_RETRACTED, {
                "note_event_id": target.event_id,
                "text": p["text"],
                **undoes,
            }
        case EventKind.NOTE_RETRACTED:
            return EventKind.NOTE_ADDED, {"text": p.get("text", ""), **undoes}
        case EventKind.ALERT_ACKNOWLEDGED:
            return EventKind.ALERT_ACKNOWLEDGED, {"until": None, "reason": "undone", **undoes}
    raise NotAllowed("a referral cannot be undone; close the journey with outcome 'other' instead")
