"""A patient's story as FHIR R4 resources, in a country's conventions (code systems, units, ids)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhirmony.demo.catalog import (
    ACT_CODE,
    ATC_DE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CVX,
    ICD10CM,
    ICD10GM,
    LOINC,
    OBS_CATEGORY,
    OPS,
    RXNORM,
    SNOMED,
    UCUM,
)
from fhirmony.demo.people import LabResult, Person, Visit, rounded

Resource = dict[str, Any]
ENCOUNTER_CLASS = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}


@dataclass(frozen=True, slots=True)
class Convention:
    """How one country's FHIR server writes the same clinical facts."""

    country: str
    timezone: str
    mass_units: bool  # US: mg/dL and US customary vitals; else SI
    condition_system: str
    condition_version: str | None
    uuid_ids: bool  # US: random UUIDs; DE: readable ids
    id_prefix: str
    identifier_system: str


US = Convention("US", "America/New_York", True, ICD10CM, None, True, "us", "http://hospital.example.org/mrn")
DE = Convention("DE", "Europe/Berlin", False, ICD10GM, "2024", False, "de", "http://klinikum.example.de/sid/patient")


class Builder:
    """Turns a `Person` into `(slot, resource)` pairs; slots name what a defect may be injected into."""

    def __init__(self, convention: Convention) -> None:
        self.c = convention
        self.tz = ZoneInfo(convention.timezone)

    def resources(self, person: Person, rng: random.Random) -> Iterator[tuple[str, Resource, LabResult | None]]:
        ids = _Ids(self.c, person.index, rng)
        patient_id = ids.next("pat")
        subject = {"reference": f"Patient/{patient_id}"}
        yield "Patient", self.patient(person, patient_id), None
        if person.allergy:
            yield "AllergyIntolerance", self.allergy(person, ids.next("all"), subject), None
        for visit in person.visits:
            encounter_id = ids.next("enc")
            encounter = {"reference": f"Encounter/{encounter_id}"}
            yield "Encounter", self.encounter(visit, encounter_id, subject), None
            for condition in visit.diagnoses:
                yield "Condition", self.condition(condition, visit, ids.next("con"), subject, encounter), None
            for lab in visit.labs:
                yield "Observation.lab", self.lab(lab, ids.next("obs"), subject, encounter), lab
            for vital, value in visit.vitals:
                yield "Observation.vital", self.vital(vital, value, visit, ids.next("obs"), subject, encounter), None
            for medication in visit.medications:
                yield "MedicationRequest", self.medication(medication, visit, ids.next("med"), subject, encounter), None
            for procedure in visit.procedures:
                yield "Procedure", self.procedure(procedure, visit, ids.next("pro"), subject, encounter), None
            if visit.immunization and self.c.country == "US":
                yield "Immunization", self.immunization(visit, ids.next("imm"), subject, encounter), None

    def when(self, moment: datetime) -> str:
        return moment.replace(tzinfo=self.tz).isoformat()

    def patient(self, person: Person, patient_id: str) -> Resource:
        resource: Resource = {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [{"system": self.c.identifier_system, "value": f"{person.index + 100000:08d}"}],
            "name": [{"use": "official", "family": person.family, "given": [person.given]}],
            "telecom": [{"system": "phone", "value": person.phone, "use": "home"}],
            "gender": person.sex,
            "birthDate": person.birth_date.isoformat(),
            "address": [
                {
                    "line": [person.street],
                    "city": person.city,
                    "state": person.region,
                    "postalCode": person.postal_code,
                    "country": self.c.country,
                }
            ],
        }
        if person.deceased:
            resource["deceasedDateTime"] = self.when(person.deceased)
        return resource

    def allergy(self, person: Person, allergy_id: str, subject: Resource) -> Resource:
        code, display = person.allergy or ("", "")
        return {
            "resourceType": "AllergyIntolerance",
            "id": allergy_id,
            "clinicalStatus": _concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
            ),
            "verificationStatus": _concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"
            ),
            "code": _concept(SNOMED, code, display),
            "patient": subject,
            "recordedDate": self.when(person.visits[0].start),
        }

    def encounter(self, visit: Visit, encounter_id: str, subject: Resource) -> Resource:
        return {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {"system": ACT_CODE, "code": visit.kind, "display": ENCOUNTER_CLASS[visit.kind]},
            "subject": subject,
            "period": {"start": self.when(visit.start), "end": self.when(visit.end)},
        }

    def condition(
        self, condition: Any, visit: Visit, condition_id: str, subject: Resource, encounter: Resource
    ) -> Resource:
        code = condition.icd10cm if self.c.country == "US" else condition.icd10gm
        coding: Resource = {"system": self.c.condition_system, "code": code, "display": condition.display}
        if self.c.condition_version:
            coding["version"] = self.c.condition_version
        codings = [coding]
        if self.c.country == "US":
            codings.append({"system": SNOMED, "code": condition.snomed, "display": condition.display})
        return {
            "resourceType": "Condition",
            "id": condition_id,
            "clinicalStatus": _concept(CONDITION_CLINICAL, "active" if condition.chronic else "resolved"),
            "category": [_concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
            "code": {"coding": codings, "text": condition.display},
            "subject": subject,
            "encounter": encounter,
            "onsetDateTime": self.when(visit.start),
            "recordedDate": self.when(visit.end),
        }

    def lab(self, lab: LabResult, observation_id: str, subject: Resource, encounter: Resource) -> Resource:
        kind = lab.kind
        if self.c.mass_units:
            code, display, unit, value = kind.mass_loinc, kind.mass_display, kind.mass_unit, lab.value * kind.factor
        else:
            code, display, unit, value = kind.si_loinc, kind.si_display, kind.si_unit, lab.value
        return {
            "resourceType": "Observation",
            "id": observation_id,
            "status": "final",
            "category": [_concept(OBS_CATEGORY, "laboratory", "Laboratory")],
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": self.when(lab.time),
            "valueQuantity": {"value": rounded(value), "unit": unit, "system": UCUM, "code": unit},
        }

    def vital(
        self, vital: Any, value: float, visit: Visit, observation_id: str, subject: Resource, encounter: Resource
    ) -> Resource:
        unit = vital.us_unit if self.c.mass_units else vital.unit
        if self.c.mass_units:
            value = round(value * vital.us_factor, 1)
        return {
            "resourceType": "Observation",
            "id": observation_id,
            "status": "final",
            "category": [_concept(OBS_CATEGORY, "vital-signs", "Vital Signs")],
            "code": {
                "coding": [{"system": LOINC, "code": vital.loinc, "display": vital.display}],
                "text": vital.display,
            },
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": self.when(visit.start),
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }

    def medication(
        self, medication: Any, visit: Visit, request_id: str, subject: Resource, encounter: Resource
    ) -> Resource:
        if self.c.country == "US":
            concept = _concept(RXNORM, medication.rxnorm, medication.rxnorm_display)
        else:
            concept = _concept(ATC_DE, medication.atc, medication.name)
        return {
            "resourceType": "MedicationRequest",
            "id": request_id,
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": concept,
            "subject": subject,
            "encounter": encounter,
            "authoredOn": self.when(visit.end),
        }

    def procedure(
        self, procedure: Any, visit: Visit, procedure_id: str, subject: Resource, encounter: Resource
    ) -> Resource:
        if self.c.country == "US":
            concept = _concept(SNOMED, procedure.snomed, procedure.display)
        else:
            concept = _concept(OPS, procedure.ops, procedure.ops_display)
            concept["coding"][0]["version"] = "2024"
        return {
            "resourceType": "Procedure",
            "id": procedure_id,
            "status": "completed",
            "code": concept,
            "subject": subject,
            "encounter": encounter,
            "performedDateTime": self.when(visit.start),
        }

    def immunization(self, visit: Visit, immunization_id: str, subject: Resource, encounter: Resource) -> Resource:
        code, display = visit.immunization or ("", "")
        return {
            "resourceType": "Immunization",
            "id": immunization_id,
            "status": "completed",
            "vaccineCode": _concept(CVX, code, display),
            "patient": subject,
            "encounter": encounter,
            "occurrenceDateTime": self.when(visit.start),
        }


class _Ids:
    def __init__(self, convention: Convention, index: int, rng: random.Random) -> None:
        self.c = convention
        self.index = index
        self.rng = rng
        self.count = 0

    def next(self, kind: str) -> str:
        if self.c.uuid_ids:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.count += 1
        if kind == "pat":
            return f"{self.c.id_prefix}-pat-{self.index + 1:06d}"
        return f"{self.c.id_prefix}-{kind}-{self.index + 1:06d}-{self.count}"


def _concept(system: str, code: str, display: str | None = None) -> Resource:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}
