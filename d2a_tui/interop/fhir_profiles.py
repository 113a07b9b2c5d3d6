"""The UK Core profiles d2a's FHIR export claims, and a checker for what they require.

`fhir.resources` checks a resource against base FHIR R4 (types, base cardinalities, required
elements). A profile adds its own constraints in its StructureDefinition's differential: minimum
and maximum cardinalities, fixed and pattern values, bindings, slices, and the elements marked
Must Support (which a sender populates whenever it holds the data). `PROFILES` holds those
constraints for UK Core Patient, Encounter and EpisodeOfCare as the StructureDefinitions state them
(UK Core STU3 sequence, NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN: Patient 2.6.1, Encounter 2.5.0,
EpisodeOfCare 2.2.0); `rules_from_definition` reads the same constraints out of a
StructureDefinition file, so a test can hold the two together whenever the files are at hand.

`check` reports, for one resource: every element present but empty (FHIR's ele-1), every broken
cardinality, every fixed or pattern value not met, every coded value outside a required binding
this module knows the codes of (or present under one it does not), and every Must Support
element the resource leaves out. What it does not check: invariants other than ele-1, bindings
weaker than required, the types and profiles of references and extensions, and terminology
(whether a code exists in its code system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition"
_FHIR = "{http://hl7.org/fhir}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One differential element: `path` is its element id ("Patient.identifier:nhsNumber.system",
    a slice after the colon)."""

    path: str
    min: int | None = None
    max: str | None = None
    must_support: bool | None = None
    fixed: Any = None
    binding: tuple[str, str] | None = None  # (strength, value set)
    slice_url: str | None = None  # an extension slice: the extension's url


@dataclass(frozen=True, slots=True)
class Report:
    errors: list[str] = field(default_factory=list)
    missing_must_support: list[str] = field(default_factory=list)


# The differentials' constraints (min, max, Must Support, fixed values, bindings, extension slices),
# element by element, in the StructureDefinitions' order.
PROFILES: dict[str, tuple[Rule, ...]] = {
    f"{UK_CORE}/UKCore-Patient": (
        Rule("Patient.extension:birthPlace", slice_url="http://hl7.org/fhir/StructureDefinition/patient-birthPlace"),
        Rule("Patient.extension:birthSex", slice_url=f"{UK_CORE}/Extension-UKCore-BirthSex"),
        Rule("Patient.extension:cadavericDonor", slice_url="http://hl7.org/fhir/StructureDefinition/patient-cadavericDonor"),
        Rule("Patient.extension:contactPreference", slice_url=f"{UK_CORE}/Extension-UKCore-ContactPreference"),
        Rule("Patient.extension:deathNotificationStatus", slice_url=f"{UK_CORE}/Extension-UKCore-DeathNotificationStatus"),
        Rule("Patient.extension:ethnicCategory", max="1", slice_url=f"{UK_CORE}/Extension-UKCore-EthnicCategory"),
        Rule("Patient.extension:fetalStatus", slice_url="http://hl7.org/fhir/6.0/StructureDefinition/extension-Patient.fetalStatus"),
        Rule("Patient.extension:residentialStatus", slice_url=f"{UK_CORE}/Extension-UKCore-ResidentialStatus"),
        Rule("Patient.extension:patientInterpreterRequired", slice_url="http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"),
        Rule("Patient.extension:nhsNumberUnavailableReason", slice_url=f"{UK_CORE}/Extension-UKCore-NHSNumberUnavailableReason"),
        Rule("Patient.identifier", must_support=True),
        Rule("Patient.identifier:nhsNumber", max="1", must_support=False),
        Rule("Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus", max="1", must_support=False, slice_url=f"{UK_CORE}/Extension-UKCore-NHSNumberVerificationStatus"),
        Rule("Patient.identifier:nhsNumber.system", min=1, fixed="https://fhir.nhs.uk/Id/nhs-number"),
        Rule("Patient.identifier:nhsNumber.value", min=1),
        Rule("Patient.active", must_support=True),
        Rule("Patient.name", must_support=True),
        Rule("Patient.telecom", must_support=True),
        Rule("Patient.telecom.system.extension:otherContactSystem", slice_url=f"{UK_CORE}/Extension-UKCore-OtherContactSystem"),
        Rule("Patient.gender", must_support=True),
        Rule("Patient.birthDate", must_support=True),
        Rule("Patient.birthDate.extension:birthTime", slice_url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"),
        Rule("Patient.address", must_support=True),
        Rule("Patient.address.extension:addressKey", must_support=False, slice_url=f"{UK_CORE}/Extension-UKCore-AddressKey"),
        Rule("Patient.maritalStatus", binding=("extensible", "https://fhir.hl7.org.uk/ValueSet/UKCore-PersonMaritalStatusCode")),
        Rule("Patient.contact.extension:contactRank", slice_url=f"{UK_CORE}/Extension-UKCore-ContactRank"),
        Rule("Patient.contact.extension:copyCorrespondenceIndicator", slice_url=f"{UK_CORE}/Extension-UKCore-CopyCorrespondenceIndicator"),
        Rule("Patient.contact.relationship", binding=("extensible", "https://fhir.hl7.org.uk/ValueSet/UKCore-PersonRelationshipType")),
        Rule("Patient.contact.telecom.system.extension:otherContactSystem", slice_url=f"{UK_CORE}/Extension-UKCore-OtherContactSystem"),
        Rule("Patient.communication.extension:proficiency", max="1", slice_url="http://hl7.org/fhir/StructureDefinition/patient-proficiency"),
        Rule("Patient.communication.language", binding=("required", "http://hl7.org/fhir/ValueSet/all-languages")),
        Rule("Patient.managingOrganization", must_support=True),
    ),
    f"{UK_CORE}/UKCore-Encounter": (
        Rule("Encounter.extension:dischargeMethod", slice_url=f"{UK_CORE}/Extension-UKCore-DischargeMethod"),
        Rule("Encounter.extension:emergencyCareDischargeStatus", slice_url=f"{UK_CORE}/Extension-UKCore-EmergencyCareDischargeStatus"),
        Rule("Encounter.extension:legalStatus", slice_url=f"{UK_CORE}/Extension-UKCore-LegalStatus"),
        Rule("Encounter.extension:OutcomeOfAttendance", slice_url=f"{UK_CORE}/Extension-UKCore-OutcomeOfAttendance"),
        Rule("Encounter.identifier", must_support=True),
        Rule("Encounter.status", must_support=True),
        Rule("Encounter.class", must_support=True),
        Rule("Encounter.type", binding=("preferred", "https://fhir.hl7.org.uk/ValueSet/UKCore-EncounterType")),
        Rule("Encounter.serviceType", binding=("preferred", "https://fhir.hl7.org.uk/ValueSet/UKCore-CareSettingType")),
        Rule("Encounter.subject", must_support=True),
        Rule("Encounter.participant", must_support=True),
        Rule("Encounter.reasonCode", must_support=True),
        Rule("Encounter.reasonReference", must_support=True),
        Rule("Encounter.hospitalization.extension:admissionMethod", slice_url=f"{UK_CORE}/Extension-UKCore-AdmissionMethod"),
        Rule("Encounter.hospitalization.admitSource", binding=("preferred", "https://fhir.hl7.org.uk/ValueSet/UKCore-SourceOfAdmission")),
        Rule("Encounter.hospitalization.dischargeDisposition", binding=("preferred", "https://fhir.hl7.org.uk/ValueSet/UKCore-DischargeDestination")),
        Rule("Encounter.location.physicalType", binding=("preferred", "https://fhir.hl7.org.uk/ValueSet/UKCore-EncounterLocationType")),
    ),
    f"{UK_CORE}/UKCore-EpisodeOfCare": (
        Rule("EpisodeOfCare.status", must_support=True),
        Rule("EpisodeOfCare.patient", must_support=True),
        Rule("EpisodeOfCare.period", must_support=True),
        Rule("EpisodeOfCare.careManager", must_support=True),
    ),
}  # fmt: skip

# Codes of the required bindings this module can check (none of d2a's resources uses one yet).
REQUIRED_CODES: dict[str, frozenset[str]] = {}


def rules_from_definition(path: Path) -> tuple[str, tuple[Rule, ...]]:
    """A StructureDefinition (XML) as its url and the rules of its differential."""
    root = ElementTree.parse(path).getroot()
    url = _value(root.find(f"{_FHIR}url"))
    rules: list[Rule] = []
    differential = root.find(f"{_FHIR}differential")
    for element in differential if differential is not None else ():
        min_ = _value(element.find(f"{_FHIR}min"))
        must = _value(element.find(f"{_FHIR}mustSupport"))
        fixed = None
        for child in element:
            name = child.tag.removeprefix(_FHIR)
            if name.startswith(("fixed", "pattern")):
                fixed = _value(child)
        binding = element.find(f"{_FHIR}binding")
        slice_url = None
        if element.find(f"{_FHIR}sliceName") is not None:
            profile = element.find(f"{_FHIR}type/{_FHIR}profile")
            slice_url = _value(profile) if profile is not None else None
        rule = Rule(
            element.get("id", ""),
            min=int(min_) if min_ is not None else None,
            max=_value(element.find(f"{_FHIR}max")),
            must_support=must == "true" if must is not None else None,
            fixed=fixed,
            binding=(
                (
                    _value(binding.find(f"{_FHIR}strength")) or "",
                    _value(binding.find(f"{_FHIR}valueSet")) or "",
                )
                if binding is not None
                else None
            ),
            slice_url=slice_url,
        )
        if rule != Rule(rule.path):
            rules.append(rule)
    return url or "", tuple(rules)


def _value(node: ElementTree.Element | None) -> str | None:
    return node.get("value") if node is not None else None


@dataclass(frozen=True, slots=True)
class _Slices:
    """How each slice picks its entries: an extension slice by url, another by the fixed values
    of its children (the NHS number slice: `system` fixed to the NHS number's)."""

    urls: dict[str, str]
    fixed: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, rules: tuple[Rule, ...]) -> _Slices:
        urls = {rule.path: rule.slice_url for rule in rules if rule.slice_url}
        fixed: dict[str, dict[str, Any]] = {}
        for rule in rules:
            parent, _, child = rule.path.rpartition(".")
            if rule.fixed is not None and ":" in parent.rpartition(".")[2]:
                fixed.setdefault(parent, {})[child] = rule.fixed
        return cls(urls, fixed)

    def pick(self, element_id: str, values: list[Any]) -> list[Any]:
        if ":" not in element_id.rpartition(".")[2]:
            return values
        if element_id in self.urls:
            return [
                v for v in values if isinstance(v, dict) and v.get("url") == self.urls[element_id]
            ]
        wanted = self.fixed.get(element_id, {})
        return [
            v
            for v in values
            if isinstance(v, dict) and all(v.get(k) == f for k, f in wanted.items())
        ]


def check(resource: dict[str, Any], profile: str) -> Report:
    """What `resource` breaks of `profile` (a url in PROFILES), and which of its Must Support
    elements it leaves out."""
    report = Report()
    _empty(resource, str(resource.get("resourceType", "?")), report.errors)
    rules = PROFILES[profile]
    slices = _Slices.of(rules)
    for rule in rules:
        for values in _instances(resource, rule.path, slices):
            if rule.min is not None and len(values) < rule.min:
                report.errors.append(
                    f"{rule.path}: at least {rule.min} expected, {len(values)} given"
                )
            if rule.max not in (None, "*") and len(values) > int(str(rule.max)):
                report.errors.append(
                    f"{rule.path}: at most {rule.max} allowed, {len(values)} given"
                )
            if rule.fixed is not None:
                report.errors.extend(
                    f"{rule.path}: {value!r} is not the fixed {rule.fixed!r}"
                    for value in values
                    if value != rule.fixed
                )
            if rule.binding and rule.binding[0] == "required" and values:
                known = REQUIRED_CODES.get(rule.binding[1])
                report.errors.extend(
                    f"{rule.path}: {code!r} is not in {rule.binding[1]}"
                    for code in _codes(values)
                    if known is None or code not in known
                )
        if rule.must_support and not any(_instances(resource, rule.path, slices)):
            report.missing_must_support.append(rule.path)
    return report


def _instances(resource: dict[str, Any], element_id: str, slices: _Slices) -> list[list[Any]]:
    """The values of the element, one list per instance of its parent present in the resource
    (a rule on `identifier:nhsNumber.value` is judged in each NHS number identifier)."""
    steps = element_id.split(".")
    parents: list[dict[str, Any]] = [resource]
    for depth in range(1, len(steps)):
        here = ".".join(steps[: depth + 1])
        name = steps[depth].partition(":")[0]
        groups = [slices.pick(here, _list(parent.get(name))) for parent in parents]
        if depth == len(steps) - 1:
            return groups
        parents = [value for group in groups for value in group if isinstance(value, dict)]
    return [[resource]]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _empty(value: Any, where: str, errors: list[str]) -> None:
    """ele-1: every element has a value or children; FHIR JSON has no empty objects, arrays or
    strings."""
    if value in ({}, [], ""):
        errors.append(f"{where}: empty (ele-1)")
    elif isinstance(value, dict):
        for key, child in value.items():
            _empty(child, f"{where}.{key}", errors)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _empty(child, f"{where}[{index}]", errors)


def _codes(values: list[Any]) -> list[str]:
    codes: list[str] = []
    for value in values:
        if isinstance(value, str):
            codes.append(value)
        elif isinstance(value, dict):
            codings = value.get("coding", []) if "coding" in value else [value]
            codes.extend(str(c["code"]) for c in codings if isinstance(c, dict) and "code" in c)
    return codes
