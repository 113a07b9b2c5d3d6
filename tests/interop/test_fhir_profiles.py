"""`d2a export fhir` against the UK Core profiles it claims: their cardinalities, fixed values and
Must Support elements (`fhir_profiles`), FHIR's ele-1, and what the stay and the name say.

The hub's clock is frozen at Mon 23 Nov 2026 09:30 UTC.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from openpyxl import Workbook

from d2a_tui.interop import fhir_profiles
from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.fhir_export import (
    DISCHARGE_DESTINATION,
    NOT_HELD,
    STAY_ID,
    export_bundle,
)
from d2a_tui.interop.importer import Planner, apply_import
from d2a_tui.interop.sheet import read_sheet
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.interop.hl7_samples import adt

UK_CORE = fhir_profiles.UK_CORE
EDNA = "9434765919"


def resources(hub: Hub, journey: str) -> dict[str, dict]:
    bundle = export_bundle(hub, journey=journey)
    return {entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]}


def assert_meets_profile(resource: dict) -> None:
    [profile] = resource["meta"]["profile"]
    report = fhir_profiles.check(resource, profile)
    assert report.errors == []
    assert set(report.missing_must_support) <= NOT_HELD[resource["resourceType"]]


def test_a_stay_referred_without_an_admission_date_has_no_empty_period(hub: Hub) -> None:
    journey = refer_someone(hub, admitted_on=None)
    stay = resources(hub, journey)["Encounter"]
    assert "period" not in stay  # `"period": {}` breaks ele-1
    assert_meets_profile(stay)


def test_the_hospitals_a03_finishes_the_encounter_at_its_time(hub: Hub) -> None:
    journey = refer_someone(hub, nhs_number=EDNA, name="Edna Example",
                            date_of_birth="1938-03-04", admitted_on="2026-11-20")  # fmt: skip
    feed = AdtFeed(hub.store, hub.calendar, "adt-device", hub.clock)
    assert feed.process(adt("A03", EDNA, discharged="20261123091000")).code == "AA"
    stay = resources(hub, journey)["Encounter"]
    # The hub has not moved the card yet; the hospital's record of the person leaving wins.
    assert stay["status"] == "finished"
    assert stay["period"] == {"start": "2026-11-20", "end": "2026-11-23T09:10:00Z"}
    assert stay["hospitalization"]["dischargeDisposition"]["coding"][0] == {
        "system": DISCHARGE_DESTINATION, "code": "99"
    }  # fmt: skip
    assert_meets_profile(stay)


def test_encounter_identifier_and_where_a_finished_stay_went(hub: Hub, clock: FrozenClock) -> None:
    home = refer_someone(hub, serial=1, admitted_on="2026-11-15")
    hub.move(home, "triage")
    hub.move(home, "await_p1")
    clock.advance(hours=1)
    hub.move(home, "on_p1")
    clock.advance(days=2)
    # The destination recorded when the journey closes applies to the discharge.
    hub.close_journey(home, "home_independent", destination="P1_HOME")
    died = refer_someone(hub, serial=2, admitted_on="2026-11-15")
    hub.close_journey(died, "died")
    staying = refer_someone(hub, serial=3, admitted_on="2026-11-15")
    codes = {}
    for journey in (home, died, staying):
        stay = resources(hub, journey)["Encounter"]
        assert stay["identifier"] == [{"system": STAY_ID, "value": f"{journey}-stay"}]
        assert_meets_profile(stay)
        disposition = stay.get("hospitalization", {}).get("dischargeDisposition")
        codes[journey] = disposition["coding"][0]["code"] if disposition else None
    # Home with reablement = 19 usual place of residence; died in hospital = 79; still in = none.
    assert codes == {home: "19", died: "79", staying: None}


def test_the_family_name_is_the_one_the_sheet_gave_never_a_guess(hub: Hub, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["NHS Number", "Surname", "Forename", "DOB", "Admitted"])
    sheet.append([EDNA, "Ó Briain", "Edna Mary", "04/03/1938", "20/11/2026"])
    path = tmp_path / "caseload.xlsx"
    book.save(path)
    plan = Planner(hub.store, hub.calendar, hub.now()).plan(read_sheet(path))
    apply_import(hub.store, plan, hub.actor, hub.now())
    [card] = hub.board()
    [name] = resources(hub, card.journey_id)["Patient"]["name"]
    assert name == {
        "use": "official", "text": "Edna Mary Ó Briain", "family": "Ó Briain", "given": ["Edna Mary"]
    }  # fmt: skip
    # A full name alone says nothing of which words are the family name: it is sent as text.
    journey = refer_someone(hub, serial=5, name="Bob van der Berg")
    patient = resources(hub, journey)["Patient"]
    assert patient["name"] == [{"use": "official", "text": "Bob van der Berg"}]
    assert_meets_profile(patient)


def test_episode_of_care_claims_and_meets_uk_core(hub: Hub) -> None:
    journey = refer_someone(hub, admitted_on="2026-11-15")
    episode = resources(hub, journey)["EpisodeOfCare"]
    assert episode["meta"]["profile"] == [f"{UK_CORE}/UKCore-EpisodeOfCare"]
    report = fhir_profiles.check(episode, f"{UK_CORE}/UKCore-EpisodeOfCare")
    assert report.errors == [] and report.missing_must_support == ["EpisodeOfCare.careManager"]


def test_the_checker_catches_what_the_profiles_forbid(hub: Hub) -> None:
    journey = refer_someone(hub, admitted_on="2026-11-15")
    got = resources(hub, journey)
    patient, stay = got["Patient"], got["Encounter"]
    profile = f"{UK_CORE}/UKCore-Patient"
    twice = copy.deepcopy(patient)
    twice["identifier"].append(copy.deepcopy(patient["identifier"][0]))
    assert fhir_profiles.check(twice, profile).errors == [
        "Patient.identifier:nhsNumber: at most 1 allowed, 2 given"
    ]
    no_value = copy.deepcopy(patient)
    del no_value["identifier"][0]["value"]
    assert "Patient.identifier:nhsNumber.value: at least 1 expected, 0 given" in (
        fhir_profiles.check(no_value, profile).errors
    )
    empty = {**stay, "period": {}}
    assert fhir_profiles.check(empty, f"{UK_CORE}/UKCore-Encounter").errors == [
        "Encounter.period: empty (ele-1)"
    ]
    unnamed = {key: value for key, value in stay.items() if key != "identifier"}
    assert (
        "Encounter.identifier"
        in fhir_profiles.check(unnamed, f"{UK_CORE}/UKCore-Encounter").missing_must_support
    )


def _definitions() -> Path | None:
    """UK Core's StructureDefinitions, where a checkout of them is at hand: D2A_UKCORE_DEFINITIONS,
    or shared/ukcore beside the repository."""
    given = os.environ.get("D2A_UKCORE_DEFINITIONS")
    beside = Path(__file__).resolve().parents[3] / "shared" / "ukcore"
    for folder in (Path(given) if given else None, beside):
        if folder is not None and (folder / "UKCore-Encounter.xml").exists():
            return folder
    return None


@pytest.mark.skipif(_definitions() is None, reason="UK Core StructureDefinitions not at hand")
@pytest.mark.parametrize("name", ["UKCore-Patient", "UKCore-Encounter", "UKCore-EpisodeOfCare"])
def test_the_rules_are_the_structure_definitions_own(name: str) -> None:
    folder = _definitions()
    assert folder is not None
    url, rules = fhir_profiles.rules_from_definition(folder / f"{name}.xml")
    assert url == f"{UK_CORE}/{name}"
    assert rules == fhir_profiles.PROFILES[url]
