"""Need-to-know as one allow-list: for each role, the fields of each event kind, and the fields of
a journey, that may leave the server for it.

Everything that leaves the server for a user is cut by this table and by nothing else: the events
of a pull and a snapshot, the values a push receipt names when a change conflicts, and the board.
A payload key that is not in the table for the reader's view never leaves, so a key a later
command adds stays on the server until someone decides here who may read it. An event kind that is
not in a view's table is sent as `withheld`, with an empty payload: it keeps the journey's count
of events whole on a replica and changes nothing there.

How a kept field leaves (`Rule`): as it is (`keep`), cut to initials (`initials`), to the year
of birth (`year`), replaced by a stable pseudonym of the patient (`pseudonym`), emptied (`blank`,
for free text: the key stays so a replica's screens still find it), set to None (`null`) or to a
dash (`dash`, a name a manager never sees). A mapping of rules is a nested object (the patient).

The manual's "field by field" table (docs/guide/need-to-know.md) is `markdown_table()`'s
output; a test keeps the two equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from d2a_tui.domain.events import EventKind

Rule = Literal["keep", "initials", "year", "pseudonym", "blank", "null", "dash"]
Fields = Mapping[str, "Rule | Fields"]

ROLES = ("coordinator", "night", "provider", "viewer", "manager", "admin")
VIEWS = ("full", "provider", "initials", "figures")
# An administrator enrols devices and users; the record is not theirs to read, so an admin (or a
# role this table does not know) gets the narrowest view.
VIEW_BY_ROLE: dict[str, str] = {
    "coordinator": "full",
    "night": "full",
    "provider": "provider",
    "viewer": "initials",
    "manager": "figures",
    "admin": "figures",
}
NARROWEST = "figures"
# One table for every read: a pull, a snapshot, a push receipt and its conflict, the board. A
# replica holds only what it pulled, so its screens and exports show nothing else.

OFFER_KINDS = frozenset(
    {
        EventKind.OFFER_MADE,
        EventKind.OFFER_ACCEPTED,
        EventKind.OFFER_DECLINED,
        EventKind.OFFER_WITHDRAWN,
        EventKind.OFFER_QUESTION,
    }
)


def _keep(*keys: str) -> dict[str, Rule | Fields]:
    return {key: "keep" for key in keys}


# --- every key the domain writes, by event kind: the full view ------------------------------------

_PATIENT = _keep("id", "nhs_number", "name", "family_name", "date_of_birth", "locality", "existing")
_MOVE = _keep(
    "from",
    "to",
    "pathway",
    "previous_pathway",
    "discharged",
    "undischarged",
    "entered_at",
    "previous_entered_at",
    "outcome",
    "destination",
    "previous_outcome",
    "previous_destination",
    "undoes",
)
FULL: dict[EventKind, Fields] = {
    EventKind.REFERRED: {
        "patient": _PATIENT,
        **_keep(
            "column",
            "pathway",
            "ward",
            "bed",
            "admitted_on",
            "discharge_ready_date",
            "expected_discharge_date",
        ),
    },
    EventKind.MOVED: _MOVE,
    EventKind.CLOSED: _MOVE,
    EventKind.REOPENED: _MOVE,
    EventKind.DELAY_SET: _keep("code", "previous", "undoes"),
    EventKind.DELAY_CLEARED: _keep("previous", "undoes"),
    EventKind.READY_DATE_SET: _keep("date", "previous", "undoes"),
    EventKind.EXPECTED_DATE_SET: _keep("date", "previous", "undoes"),
    EventKind.WARD_SET: _keep("ward", "bed", "previous_ward", "previous_bed", "undoes"),
    EventKind.NOTE_ADDED: _keep("text", "undoes"),
    EventKind.NOTE_RETRACTED: _keep("note_event_id", "text", "undoes"),
    EventKind.ASSIGNED: _keep("to", "previous", "undoes"),
    EventKind.ALERT_ACKNOWLEDGED: _keep("until", "reason", "undoes"),
    EventKind.ADMISSION_RECORDED: _keep(
        "admitted_on",
        "ward",
        "bed",
        "previous_admitted_on",
        "previous_ward",
        "previous_bed",
        "cancels",
    ),
    EventKind.HOSPITAL_DISCHARGE_RECORDED: _keep("at", "ward", "cancels", "died"),
    EventKind.DEMOGRAPHICS_UPDATED: _keep(
        "patient_id", "name", "date_of_birth", "previous_name", "previous_date_of_birth"
    ),
    EventKind.PATIENT_MERGED: {
        "patient": _PATIENT,
        **_keep("previous_patient_id", "previous_nhs_number"),
    },
    EventKind.OFFER_MADE: _keep("offer_id", "service_id", "start", "note"),
    EventKind.OFFER_ACCEPTED: _keep("offer_id", "start"),
    EventKind.OFFER_DECLINED: _keep("offer_id", "reason", "text"),
    EventKind.OFFER_WITHDRAWN: _keep("offer_id"),
    EventKind.OFFER_QUESTION: _keep("offer_id", "text"),
}


# --- a provider: the person and where they are, the card's place, its own offers ------------------

PROVIDER: dict[EventKind, Fields] = {
    EventKind.REFERRED: {
        "patient": _PATIENT,
        **_keep("column", "pathway", "ward", "bed", "discharge_ready_date"),
    },
    EventKind.MOVED: _MOVE,
    EventKind.CLOSED: _MOVE,
    EventKind.REOPENED: _MOVE,
    EventKind.READY_DATE_SET: FULL[EventKind.READY_DATE_SET],
    EventKind.WARD_SET: FULL[EventKind.WARD_SET],
    # The person as they are now; who they were before is the hospital's business.
    EventKind.DEMOGRAPHICS_UPDATED: _keep("patient_id", "name", "date_of_birth"),
    # Its own offers only (`cut` checks whose they are): the rest are withheld.
    **{kind: FULL[kind] for kind in OFFER_KINDS},
}

# --- a viewer: the board's shape, a person by initials --------------------------------------------

_PATIENT_MASKED: dict[str, Rule | Fields] = {
    "id": "keep",
    "nhs_number": "pseudonym",
    "name": "initials",
    "date_of_birth": "year",
    "locality": "keep",
    "existing": "keep",
}


def _masked(
    kind: EventKind, patient: Fields, *dropped: str, **changed: Rule | Fields
) -> dict[str, Rule | Fields]:
    fields = FULL[kind]
    rules: dict[str, Rule | Fields] = {}
    for key in fields:
        if key in dropped:
            continue
        if key in changed:
            rules[key] = changed[key]
        elif key == "patient":
            rules[key] = patient
        else:
            rules[key] = fields[key]
    return rules


INITIALS: dict[EventKind, Fields] = {kind: _masked(kind, _PATIENT_MASKED) for kind in FULL}
INITIALS |= {
    EventKind.NOTE_ADDED: _masked(EventKind.NOTE_ADDED, {}, text="blank"),
    EventKind.NOTE_RETRACTED: _masked(EventKind.NOTE_RETRACTED, {}, text="blank"),
    EventKind.ALERT_ACKNOWLEDGED: _masked(EventKind.ALERT_ACKNOWLEDGED, {}, reason="blank"),
    EventKind.OFFER_MADE: _masked(EventKind.OFFER_MADE, {}, note="blank"),
    EventKind.OFFER_DECLINED: _masked(EventKind.OFFER_DECLINED, {}, text="blank"),
    EventKind.OFFER_QUESTION: _masked(EventKind.OFFER_QUESTION, {}, text="blank"),
    EventKind.DEMOGRAPHICS_UPDATED: {
        "patient_id": "keep",
        "name": "initials",
        "date_of_birth": "year",
    },
    EventKind.PATIENT_MERGED: {"patient": _PATIENT_MASKED, "previous_patient_id": "keep"},
}

# --- a manager: what the figures count, no identifier ---------------------------------------------

_PATIENT_FIGURES = {**_PATIENT_MASKED, "name": "dash"}
FIGURES: dict[EventKind, Fields] = {}
for _kind, _fields in INITIALS.items():
    _rules: dict[str, Rule | Fields] = {}
    for _key, _rule in _fields.items():
        if _key in ("ward", "bed"):
            _rules[_key] = "null"
        elif _key in ("previous_ward", "previous_bed"):
            continue  # where the person was is as identifying as where they are
        elif _key == "patient":
            _rules[_key] = _PATIENT_FIGURES
        elif _kind is EventKind.DEMOGRAPHICS_UPDATED and _key == "name":
            _rules[_key] = "dash"
        else:
            _rules[_key] = _rule
    FIGURES[_kind] = _rules

ALLOWED: dict[str, dict[EventKind, Fields]] = {
    "full": FULL,
    "provider": PROVIDER,
    "initials": INITIALS,
    "figures": FIGURES,
}

# The journey's fields each view may be told, where a read names them rather than events (the
# values a conflict receipt shows, the fields a change may say it saw, the board's cards).
_THE_HUBS_JOURNEY_FIELDS = frozenset(
    {
        "column",
        "pathway",
        "delay_reason",
        "discharge_ready_date",
        "expected_discharge_date",
        "ward",
        "bed",
        "assigned_to",
    }
)
JOURNEY_FIELDS: dict[str, frozenset[str]] = {
    "full": _THE_HUBS_JOURNEY_FIELDS,
    "provider": frozenset({"column", "pathway", "discharge_ready_date", "ward", "bed"}),
    # A viewer sees the board's shape as the hub does; a name is what it sees by initials only.
    "initials": _THE_HUBS_JOURNEY_FIELDS,
    # A manager: what the figures count, never where the person is.
    "figures": _THE_HUBS_JOURNEY_FIELDS - {"ward", "bed"},
}


# --- services: what a replica holds of the providers' services ----------------------------------

# Which services a role's devices receive: a provider its own organisation's, the hub's roles
# those of their localities (all, for a user with none, and those serving no one locality). A
# role not listed (an administrator) receives none.
SERVICES_BY_ROLE: dict[str, Literal["own", "localities"]] = {
    "coordinator": "localities",
    "night": "localities",
    "viewer": "localities",
    "manager": "localities",
    "provider": "own",
}
# The columns of a service and of its organisation that may leave, per view: a column added
# later stays on the server until it is listed here.
SERVICE_FIELDS: dict[str, frozenset[str]] = {
    view: frozenset(
        {"id", "name", "kind", "pathway", "unit", "organisation_id", "locality", "active"}
    )
    for view in VIEWS
}
ORGANISATION_FIELDS: dict[str, frozenset[str]] = {
    view: frozenset({"id", "name", "kind"}) for view in VIEWS
}


def service_values(view: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A service's columns cut to what `view` may receive."""
    may = SERVICE_FIELDS.get(view, frozenset())
    return {key: value for key, value in row.items() if key in may}


def organisation_values(view: str, row: Mapping[str, Any]) -> dict[str, Any]:
    may = ORGANISATION_FIELDS.get(view, frozenset())
    return {key: value for key, value in row.items() if key in may}


def view_of(role: str | None) -> str:
    return VIEW_BY_ROLE.get(role or "", NARROWEST)


def visible_kind(view: str, kind: str) -> bool:
    """Whether events of `kind` reach this view at all (a provider's: some offers only)."""
    return any(str(known) == kind for known in ALLOWED[view])


# --- applying it ----------------------------------------------------------------------------------


def pseudonym(patient_id: str) -> str:
    """Stands in for an NHS number where it may not be seen: stable per patient (reports still
    count people once), never a valid NHS number (it is not all digits), and not reversible."""
    return "~" + hashlib.sha256(patient_id.encode()).hexdigest()[:9]


def initials(name: str) -> str:
    return " ".join(part[0].upper() for part in name.replace(",", " ").split() if part)


def _year_only(value: Any) -> Any:
    try:
        return date.fromisoformat(str(value)).replace(month=1, day=1).isoformat()
    except ValueError:
        return None  # not a date: nothing of it leaves


def _leave(rule: Rule, value: Any, holder: Mapping[str, Any]) -> Any:
    match rule:
        case "keep":
            return value
        case "initials":
            return initials(str(value or ""))
        case "year":
            return _year_only(value) if value else value
        case "pseudonym":
            return pseudonym(str(holder.get("id", holder.get("patient_id", ""))))
        case "blank":
            return ""
        case "dash":
            return "—"
    return None  # "null"


def allowed(fields: Fields, payload: Mapping[str, Any]) -> dict[str, Any]:
    """`payload` as `fields` lets it leave: listed keys only, each by its rule."""
    kept: dict[str, Any] = {}
    for key, rule in fields.items():
        if key not in payload:
            continue
        value = payload[key]
        if isinstance(rule, Mapping):
            kept[key] = allowed(rule, value) if isinstance(value, Mapping) else None
        else:
            kept[key] = _leave(rule, value, payload)
    return kept


def cut(
    kind: str, payload: Mapping[str, Any], view: str, own_offers: frozenset[str] = frozenset()
) -> tuple[str, dict[str, Any]]:
    """What a user with `view` may see of one event: its kind and allowed payload, or
    `withheld` and an empty payload. `own_offers` are the offers made to the provider's own
    services (a provider sees no other offer)."""
    table = ALLOWED.get(view, ALLOWED[NARROWEST])
    fields = next((rules for known, rules in table.items() if str(known) == kind), None)
    if fields is None:
        return str(EventKind.WITHHELD), {}
    if view == "provider" and kind in OFFER_KINDS and payload.get("offer_id") not in own_offers:
        return str(EventKind.WITHHELD), {}
    return kind, allowed(fields, payload)


def journey_values(view: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A journey's field values (a conflict's `theirs`) cut to what `view` may be told."""
    may = JOURNEY_FIELDS.get(view, JOURNEY_FIELDS[NARROWEST])
    return {key: value for key, value in values.items() if key in may}


# --- the manual's table ---------------------------------------------------------------------------

_SHOWN = {
    "keep": "{key}",
    "initials": "{key} (initials)",
    "year": "{key} (year)",
    "pseudonym": "{key} (pseudonym)",
    "blank": "{key} (emptied)",
    "null": "{key} (none)",
    "dash": "{key} (—)",
}


def _describe(fields: Fields) -> str:
    parts: list[str] = []
    for key, rule in fields.items():
        if isinstance(rule, Mapping):
            parts.append(f"{key}: {{{_describe(rule)}}}")
        else:
            parts.append(_SHOWN[rule].format(key=key))
    return ", ".join(parts)


def markdown_table() -> str:
    """The allow-list as docs/guide/need-to-know.md shows it: a row per event kind, a column
    per view."""
    roles = {
        view: ", ".join(role for role, v in VIEW_BY_ROLE.items() if v == view) for view in VIEWS
    }
    lines = [
        "| event kind | " + " | ".join(f"{view} ({roles[view]})" for view in VIEWS) + " |",
        "|---" * (len(VIEWS) + 1) + "|",
    ]
    for kind in FULL:
        cells = []
        for view in VIEWS:
            fields = ALLOWED[view].get(kind)
            if fields is None:
                cells.append("withheld")
            else:
                shown = _describe(fields) or "(kind only)"
                if view == "provider" and kind in OFFER_KINDS:
                    shown = f"own offers only: {shown}"
                cells.append(shown)
        lines.append(f"| `{kind}` | " + " | ".join(cells) + " |")
    lines.append(
        "| journey fields (conflicts, board) | "
        + " | ".join(", ".join(sorted(JOURNEY_FIELDS[view])) for view in VIEWS)
        + " |"
    )
    return "\n".join(lines) + "\n"
