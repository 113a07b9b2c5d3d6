"""`d2a export fhir`: a Bundle whose every resource passes the FHIR validator (fhir.resources)."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from d2a_tui.cli import main
from d2a_tui.interop.fhir_export import (
    DELAY_EXTENSION,
    NHS_NUMBER,
    READY_EXTENSION,
    VERIFICATION,
    export_bundle,
)
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone

MODELS = {"Patient": Patient, "Encounter": Encounter, "EpisodeOfCare": EpisodeOfCare}


def journey_on_p1(hub: Hub, clock: FrozenClock) -> str:
    clock.now = clock.now.replace(day=20, hour=10, minute=0)
    journey = refer_someone(hub, nhs_number="9434765919", name="Edna May Example",
                            admitted_on="2026-11-15", discharge_ready_date="2026-11-19")  # fmt: skip
    hub.move(journey, "triage")
    clock.advance(hours=2)
    hub.move(journey, "await_p1")
    hub.set_delay(journey, "P1CARE")
    clock.now = clock.now.replace(day=22, hour=14, minute=0)
    hub.move(journey, "on_p1")  # discharged home on P1 on 22 Nov, 14:00
    return journey


def resources(bundle: dict) -> dict[str, dict]:
    return {entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]}


def test_every_resource_in_the_bundle_passes_the_validator(hub: Hub, clock: FrozenClock) -> None:
    journey_on_p1(hub, clock)
    refer_someone(hub, serial=2)
    bundle = export_bundle(hub)
    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Patient", "Encounter", "EpisodeOfCare"] * 2  # fmt: skip
    for entry in bundle["entry"]:
        resource = entry["resource"]
        MODELS[resource["resourceType"]].model_validate(resource)


def test_patient_encounter_and_episode_carry_the_journey(hub: Hub, clock: FrozenClock) -> None:
    journey = journey_on_p1(hub, clock)
    got = resources(export_bundle(hub, journey=journey[:8]))
    patient, stay, episode = got["Patient"], got["Encounter"], got["EpisodeOfCare"]
    [identifier] = patient["identifier"]
    assert (identifier["system"], identifier["value"]) == (NHS_NUMBER, "9434765919")
    assert identifier["extension"][0]["url"] == VERIFICATION
    assert identifier["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "02"
    # Referred by hand with one name: no family name is cut out of it by guessing.
    assert patient["name"] == [{"use": "official", "text": "Edna May Example"}]
    assert stay["status"] == "finished"
    assert stay["period"] == {"start": "2026-11-15", "end": "2026-11-22T14:00:00Z"}
    assert stay["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "99"
    assert stay["subject"]["reference"] == f"Patient/{patient['id']}"
    assert episode["status"] == "active"
    # In hospital (referred, triage, awaiting P1) = waitlist from the referral at 20 Nov 10:00;
    # on P1 at home = active from the discharge on 22 Nov 14:00.
    assert episode["statusHistory"] == [
        {
            "status": "waitlist",
            "period": {"start": "2026-11-20T10:00:00Z", "end": "2026-11-22T14:00:00Z"},
        },
        {"status": "active", "period": {"start": "2026-11-22T14:00:00Z"}},
    ]
    assert episode["type"][0]["coding"][0]["code"] == "P1"
    extensions = {ext["url"]: ext for ext in episode["extension"]}
    codes = [c["code"] for c in extensions[DELAY_EXTENSION]["valueCodeableConcept"]["coding"]]
    assert codes == ["P1CARE", "13"]  # d2a's code and the acute sitrep's 13th reason
    assert extensions[READY_EXTENSION]["valueDate"] == "2026-11-19"


def test_the_validator_would_catch_a_broken_resource(hub: Hub, clock: FrozenClock) -> None:
    journey = journey_on_p1(hub, clock)
    stay = resources(export_bundle(hub, journey=journey))["Encounter"]
    with pytest.raises(ValidationError):
        Encounter.model_validate({**stay, "period": {"start": "the 15th"}})


def test_since_picks_the_journeys_changed_from_that_day(hub: Hub, clock: FrozenClock) -> None:
    journey_on_p1(hub, clock)  # last changed 22 Nov
    clock.now = clock.now.replace(day=23, hour=9)
    later = refer_someone(hub, serial=3)
    episodes = [e["resource"]["id"] for e in export_bundle(hub, since="2026-11-23")["entry"]
                if e["resource"]["resourceType"] == "EpisodeOfCare"]  # fmt: skip
    assert episodes == [later]


def test_an_unknown_journey_is_one_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "fhir", "--journey", "abcd1234", "--db", database_url]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", "d2a: no journey abcd1234\n")
    assert main(["export", "fhir", "--db", database_url]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "collection"
