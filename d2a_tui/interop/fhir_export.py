"""`d2a export fhir`: journeys as a FHIR R4 Bundle shaped by UK Core.

Per journey: the Patient (UK Core Patient: the NHS number under `https://fhir.nhs.uk/Id/nhs-number`
with the UK Core verification-status extension), the hospital stay as an Encounter (UK Core
Encounter: inpatient, admitted to the hospital's discharge, at its ward, with where the person went)
and the D2A journey itself as an EpisodeOfCare (UK Core EpisodeOfCare) whose status history is read
from the journey's events. The pathway, the delay reason and the discharge-ready date are coded
against d2a's own code systems and extensions under `BASE` (documented in docs/guide/connecting.md);
the delay reason also carries the national acute sitrep's code. Every resource is checked with
`fhir.resources` (R4B models, which match R4 for these three resources) and against the UK Core
profile it claims (`fhir_profiles`: cardinalities, fixed values, empty elements, Must Support)
before it is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.patient import Patient
from sqlalchemy import select

from d2a_tui.domain.delays import delay_reason
from d2a_tui.domain.errors import D2AError, NotFound
from d2a_tui.domain.events import EventKind
from d2a_tui.domain.flow import Flow
from d2a_tui.domain.views import JourneyView
from d2a_tui.interop import fhir_profiles
from d2a_tui.interop.sitrep_submission import spec_code
from d2a_tui.storage.context import HubContext
from d2a_tui.storage.journeys import journey_table, patient_table


class ExportHub(HubContext, Protocol):
    """What the export needs of the Hub: journeys by reference, read for the export (which the
    access log records), and the time."""

    def now(self) -> datetime: ...
    def resolve(self, reference: str) -> str: ...
    def journey(self, journey_id: str, *, purpose: str | None = None) -> JourneyView: ...


# A reserved, unresolvable domain (RFC 2606): a hub publishing these resources replaces it with
# its own canonical base. Code systems and extensions below are described in
# docs/guide/connecting.md.
BASE = "https://d2a.invalid/fhir"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition"
VERIFICATION = f"{UK_CORE}/Extension-UKCore-NHSNumberVerificationStatus"
VERIFICATION_CODES = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
PATHWAY_SYSTEM = f"{BASE}/CodeSystem/d2a-pathway"
DELAY_SYSTEM = f"{BASE}/CodeSystem/d2a-delay-reason"
SITREP_DELAY_SYSTEM = f"{BASE}/CodeSystem/acute-sitrep-delay-reason"
DELAY_EXTENSION = f"{BASE}/StructureDefinition/d2a-delay-reason"
READY_EXTENSION = f"{BASE}/StructureDefinition/d2a-discharge-ready-date"
COLUMN_EXTENSION = f"{BASE}/StructureDefinition/d2a-board-column"
STAY_ID = f"{BASE}/Id/hospital-stay"
DESTINATION_SYSTEM = f"{BASE}/CodeSystem/d2a-discharge-destination"
DISCHARGE_DESTINATION = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"
# d2a's sitrep destinations in the NHS Data Dictionary's discharge destination codes (UK Core's
# England code system): 19 usual place of residence, 51 another NHS provider's general ward (a
# community hospital's rehabilitation bed), 85 a care home not run by the NHS or a council (the
# usual case; d2a does not record who runs it), 88 a hospice, 79 died, 99 not known ("other"
# says nothing more).
DISPOSITIONS = {
    "P0_HOME": "19", "P0_OTHER": "99", "P1_HOME": "19", "P1_OTHER": "99", "P1_HOTEL": "29",
    "P2_CAREHOME": "85", "P2_DESIGNATED": "85", "P2_HOSPICE": "88", "P2_REHAB": "51",
    "P3_CAREHOME": "85", "P3_DESIGNATED": "85", "P3B_RETURN": "85",
}  # fmt: skip
DIED, NOT_KNOWN = "79", "99"
# Must Support elements d2a holds no data for: a sender populates Must Support elements when it
# has the data, and d2a keeps no gender, address, telecom or GP practice, no care manager, no
# clinicians on the stay and no reason for admission. Anything else missing fails the export.
NOT_HELD = {
    "Patient": frozenset({"Patient.active", "Patient.telecom", "Patient.gender", "Patient.address",
                          "Patient.managingOrganization"}),
    "Encounter": frozenset({"Encounter.participant", "Encounter.reasonCode",
                            "Encounter.reasonReference"}),
    "EpisodeOfCare": frozenset({"EpisodeOfCare.careManager"}),
}  # fmt: skip
PATHWAYS = {
    "P0": "Pathway 0: home, no new support",
    "P1": "Pathway 1: home with new support",
    "P2": "Pathway 2: short-term bed with recovery support",
    "P3": "Pathway 3: new long-term care home placement",
}
_CHANGES_COLUMN = (EventKind.REFERRED, EventKind.MOVED, EventKind.CLOSED, EventKind.REOPENED)


def export_bundle(
    hub: ExportHub, *, journey: str | None = None, since: str | None = None
) -> dict[str, Any]:
    ids = [hub.resolve(journey)] if journey is not None else _journey_ids(hub, since)
    entries: list[dict[str, Any]] = []
    patients: set[str] = set()
    for journey_id in ids:
        view = hub.journey(journey_id, purpose="export")
        patient_id = hub.store.state(journey_id).patient_id
        resources = journey_resources(view, patient_id, hub.flow, _family_name(hub, patient_id))
        for resource in resources:
            if resource["resourceType"] == "Patient":
                if resource["id"] in patients:
                    continue
                patients.add(resource["id"])
            entries.append(
                {
                    "fullUrl": f"{BASE}/{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                }
            )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": hub.now().astimezone(UTC).isoformat(),
        "entry": entries,
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def _family_name(hub: HubContext, patient_id: str) -> str | None:
    with hub.store.engine.connect() as connection:
        family_name: str | None = connection.execute(
            select(patient_table.c.family_name).where(patient_table.c.id == patient_id)
        ).scalar_one_or_none()
    return family_name


def _journey_ids(hub: ExportHub, since: str | None) -> list[str]:
    query = select(journey_table.c.id).order_by(journey_table.c.referred_at)
    if since is None:
        query = query.where(journey_table.c.closed_at.is_(None))
    else:
        day = hub.calendar.parse_date(since, "--since", now=hub.now())
        query = query.where(journey_table.c.updated_at >= hub.calendar.start_of_day(day))
    with hub.store.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def journey_resources(
    view: JourneyView, patient_id: str, flow: Flow, family_name: str | None = None
) -> list[dict[str, Any]]:
    """Patient, Encounter and EpisodeOfCare for one journey, each validated against base R4 and
    the UK Core profile it claims. `family_name` is the family name as the source gave it."""
    card = view.card
    patient = {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"profile": [f"{UK_CORE}/UKCore-Patient"]},
        "identifier": [
            {
                "system": NHS_NUMBER,
                "value": card.nhs_number,
                "extension": [
                    {
                        "url": VERIFICATION,
                        # d2a checks the modulus 11 digit but does not trace the number on PDS.
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": VERIFICATION_CODES,
                                    "code": "02",
                                    "display": "Number present but not traced",
                                }
                            ]
                        },
                    }
                ],
            }
        ],
        "name": [_name(card.name, family_name)],
        "birthDate": card.date_of_birth.isoformat(),
    }
    episode_id = card.journey_id
    stay_id = f"{card.journey_id}-stay"
    location = ", ".join(
        part for part in (card.ward, f"bed {card.bed}" if card.bed else None) if part
    )
    # The hospital's own record of the person leaving (its A03) is the end of the stay; without a
    # feed, the hub's discharging move; a journey closed from a hospital column ends it too.
    left = card.left_hospital_at or card.discharged_at or card.closed_at
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": stay_id,
        "meta": {"profile": [f"{UK_CORE}/UKCore-Encounter"]},
        "identifier": [{"system": STAY_ID, "value": stay_id}],
        "status": "finished" if left else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "episodeOfCare": [{"reference": f"EpisodeOfCare/{episode_id}"}],
    }
    period = _period(card.admitted_on, left)
    if period:  # referred without an admission date: no period at all, never an empty one
        encounter["period"] = period
    if left:
        encounter["hospitalization"] = {"dischargeDisposition": _disposition(view)}
    if location:
        encounter["location"] = [{"location": {"display": location}}]
    episode: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": episode_id,
        "meta": {"profile": [f"{fhir_profiles.UK_CORE}/UKCore-EpisodeOfCare"]},
        "identifier": [{"system": f"{BASE}/Id/journey", "value": card.journey_id}],
        "status": _status(flow, card.column, closed=card.closed_at is not None),
        "statusHistory": _history(view, flow),
        "patient": {"reference": f"Patient/{patient_id}"},
        "period": _period(card.referred_at, card.closed_at),
        "extension": [{"url": COLUMN_EXTENSION, "valueString": flow.column(card.column).name}],
    }
    if card.pathway:
        episode["type"] = [{"coding": [{
            "system": PATHWAY_SYSTEM, "code": card.pathway, "display": PATHWAYS.get(card.pathway, card.pathway),
        }]}]  # fmt: skip
    if card.delay_reason:
        reason = delay_reason(card.delay_reason)
        episode["extension"].append({"url": DELAY_EXTENSION, "valueCodeableConcept": {
            "coding": [
                {"system": DELAY_SYSTEM, "code": reason.code, "display": reason.text},
                {"system": SITREP_DELAY_SYSTEM, "code": spec_code(reason.code)},
            ],
            "text": reason.text,
        }})  # fmt: skip
    if card.discharge_ready_date:
        episode["extension"].append(
            {"url": READY_EXTENSION, "valueDate": card.discharge_ready_date.isoformat()}
        )
    checked = []
    for model, resource in ((Patient, patient), (Encounter, encounter), (EpisodeOfCare, episode)):
        dumped = model.model_validate(resource).model_dump(mode="json", exclude_none=True)
        _meets_profile(dumped)
        checked.append(dumped)
    return checked


def _meets_profile(resource: dict[str, Any]) -> None:
    kind = resource["resourceType"]
    [profile] = resource["meta"]["profile"]
    report = fhir_profiles.check(resource, profile)
    missing = [path for path in report.missing_must_support if path not in NOT_HELD[kind]]
    problems = report.errors + [f"{path}: Must Support, and d2a holds it" for path in missing]
    if problems:
        # A fault in this module, not in anyone's data: say what, without the resource itself.
        raise D2AError(f"the {kind} does not meet {profile}: {'; '.join(problems)}")


def _name(full: str, family: str | None) -> dict[str, Any]:
    """The name as the source gave it: `family` only when the source said which part that is
    (a sheet's surname column, HL7's family name), and `given` only as the rest of the full name
    around it. A full name is never cut at a space by guessing: "Ó Briain" and "van der Berg" are
    family names of more than one word."""
    name: dict[str, Any] = {"use": "official", "text": full}
    if family:
        name["family"] = family
        given = full[: -len(family)].strip() if full.endswith(family) else ""
        if given:
            name["given"] = [given]
    return name


def _disposition(view: JourneyView) -> dict[str, Any]:
    """Where the person went on leaving hospital: the destination recorded with the hub's
    discharging move or close (the latest), in UK Core's discharge destination codes, with d2a's
    own code beside it; died in hospital is 79; a stay that ended with no destination recorded is 99."""
    from d2a_tui.domain.outcomes import destination as destination_of

    code, died = None, False
    for entry in view.timeline:
        payload = entry.event.payload
        if payload.get("destination"):
            code = str(payload["destination"])
        if payload.get("discharged"):  # the move or close that took the person out of hospital
            died = entry.event.kind is EventKind.CLOSED and payload.get("outcome") == "died"
    if died:
        return {"coding": [{"system": DISCHARGE_DESTINATION, "code": DIED}], "text": "Died"}
    if code is None:
        return {
            "coding": [{"system": DISCHARGE_DESTINATION, "code": NOT_KNOWN}],
            "text": "Destination not recorded",
        }
    try:
        known = destination_of(code)
    except NotFound:  # a destination since taken out of the list: kept, as not known
        return {"coding": [{"system": DISCHARGE_DESTINATION, "code": NOT_KNOWN}], "text": code}
    text = f"{known.pathway}: {known.text}"
    return {
        "coding": [
            {"system": DISCHARGE_DESTINATION, "code": DISPOSITIONS.get(known.code, NOT_KNOWN)},
            {"system": DESTINATION_SYSTEM, "code": known.code, "display": text},
        ],
        "text": text,
    }


def _instant(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def _period(start: date | datetime | None, end: date | datetime | None) -> dict[str, str]:
    period: dict[str, str] = {}
    if start is not None:
        period["start"] = _instant(start)
    if end is not None:
        period["end"] = _instant(end)
    return period


def _status(flow: Flow, column_id: str | None, *, closed: bool) -> str:
    """A journey waiting in hospital is `waitlist` (for its pathway's service); on a pathway in the
    community it is `active`; closed is `finished`."""
    if closed:
        return "finished"
    try:
        column = flow.column(str(column_id))
    except NotFound:  # a column a locality has since removed from its flow
        return "active"
    return "waitlist" if column.in_hospital else "active"


def _history(view: JourneyView, flow: Flow) -> list[dict[str, Any]]:
    spans: list[tuple[str, datetime]] = []
    for entry in view.timeline:
        event = entry.event
        if event.kind not in _CHANGES_COLUMN:
            continue
        column = event.payload.get("to") or event.payload.get("column")
        status = _status(flow, column, closed=event.kind is EventKind.CLOSED)
        if not spans or spans[-1][0] != status:
            spans.append((status, event.occurred_at))
    history = []
    for index, (status, start) in enumerate(spans):
        period = {"start": _instant(start)}
        if index + 1 < len(spans):
            period["end"] = _instant(spans[index + 1][1])
        history.append({"status": status, "period": period})
    return history
