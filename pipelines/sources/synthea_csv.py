"""`synthea-csv`: Synthea's CSV export (folder or zip) as FHIR R4 resources.

patients → Patient, encounters → Encounter, conditions → Condition, observations → Observation,
medications → MedicationRequest, procedures → Procedure, immunizations → Immunization,
allergies → AllergyIntolerance. Codes: SNOMED CT, LOINC, RxNorm and CVX as Synthea writes them;
a `SYSTEM` column, where present, wins.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fhirmony.config import SourceConfig
from fhirmony.sources._tabular import (
    Tables,
    coding,
    concept,
    fhir_date,
    fhir_datetime,
    fhir_id,
    number,
    quantity,
    selected_table_records,
)
from fhirmony.sources.base import SourceRecord, register_reader
from fhirmony.terminology.systems import CVX, LOINC, RXNORM, SNOMED, canonical_system

SYNTHEA = "https://synthetichealth.github.io/synthea"
LOCAL_OBSERVATION = f"{SYNTHEA}/observation-code"  # QALY, DALY, QOLS: Synthea's own measures
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
LOINC_CODE = re.compile(r"^\d{1,7}-\d$")

TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients": ("Patient", ("Id", "BIRTHDATE", "GENDER")),
    "encounters": ("Encounter", ("Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS", "CODE", "DESCRIPTION")),
    "conditions": ("Condition", ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
    "observations": ("Observation", ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "VALUE", "UNITS")),
    "medications": ("MedicationRequest", ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
    "procedures": ("Procedure", ("START", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
    "immunizations": ("Immunization", ("DATE", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
    "allergies": ("AllergyIntolerance", ("START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION")),
}
ENCOUNTER_CLASS = {
    "ambulatory": "AMB",
    "wellness": "AMB",
    "outpatient": "AMB",
    "urgentcare": "AMB",
    "emergency": "EMER",
    "inpatient": "IMP",
    "snf": "IMP",
    "hospice": "HH",
    "home": "HH",
    "virtual": "VR",
}


def _row_id(table: str, row: dict[str, str]) -> str:
    """A stable id for tables without an Id column: 16 hex digits of the row's content."""
    return hashlib.blake2b(f"{table}\x1e{chr(31).join(row.values())}".encode(), digest_size=8).hexdigest()


def _patient_ref(row: dict[str, str]) -> dict[str, str]:
    patient = row["PATIENT"].strip()
    if not patient:
        raise ValueError("PATIENT is empty")
    return {"reference": f"Patient/{fhir_id(patient)}"}


def _encounter_ref(resource: dict[str, Any], row: dict[str, str], key: str = "encounter") -> None:
    if row.get("ENCOUNTER", "").strip():
        resource[key] = {"reference": f"Encounter/{fhir_id(row['ENCOUNTER'].strip())}"}


def _code(
    row: dict[str, str], default_system: str, code_column: str = "CODE", display_column: str = "DESCRIPTION"
) -> dict[str, Any]:
    code = row[code_column].strip()
    if not code:
        raise ValueError(f"{code_column} is empty")
    system = canonical_system(row["SYSTEM"]) if row.get("SYSTEM", "").strip() else default_system
    display = row.get(display_column, "").strip() or None
    return concept(coding(system, code, display), text=display)


def _reason(row: dict[str, str]) -> list[dict[str, Any]] | None:
    if not row.get("REASONCODE", "").strip():
        return None
    return [_code(row, SNOMED, "REASONCODE", "REASONDESCRIPTION")]


@register_reader("synthea-csv")
class SyntheaCsvReader:
    """Options: `tables` (subset of the eight, in order)."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source
        self.tables = Tables(source.path, source.options.get("encoding", "utf-8-sig"))
        self.selected: list[str] = list(source.options.get("tables", TABLES))

    def files(self) -> list[Path]:
        return self.tables.files(self.selected)

    def records(self) -> Iterator[SourceRecord]:
        builders: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "patients": self._patient,
            "encounters": self._encounter,
            "conditions": self._condition,
            "observations": self._observation,
            "medications": self._medication_request,
            "procedures": self._procedure,
            "immunizations": self._immunization,
            "allergies": self._allergy,
        }
        yield from selected_table_records(
            self.tables, self.selected, TABLES, builders, essential=("patients",), where=str(self.source.path)
        )

    def _patient(self, row: dict[str, str]) -> dict[str, Any]:
        patient_id = row["Id"].strip()
        if not patient_id:
            raise ValueError("Id is empty")
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": fhir_id(patient_id),
            "identifier": [{"system": f"{SYNTHEA}/identifier", "value": patient_id}],
            "gender": {"M": "male", "F": "female"}.get(row["GENDER"].strip().upper(), "unknown"),
            "birthDate": fhir_date(row["BIRTHDATE"]),
        }
        if row.get("SSN", "").strip():
            resource["identifier"].append({"system": "http://hl7.org/fhir/sid/us-ssn", "value": row["SSN"].strip()})
        name = {
            "family": row.get("LAST", "").strip(),
            "given": [row["FIRST"].strip()] if row.get("FIRST", "").strip() else [],
            "prefix": [row["PREFIX"].strip()] if row.get("PREFIX", "").strip() else [],
        }
        name = {key: value for key, value in name.items() if value}
        if name:
            resource["name"] = [{"use": "official", **name}]
        death = fhir_date(row.get("DEATHDATE", ""))
        if death:
            resource["deceasedDateTime"] = death
        if row.get("MARITAL", "").strip() in {"M", "S", "D", "W"}:
            resource["maritalStatus"] = concept(coding(MARITAL, row["MARITAL"].strip()))
        address = {
            "line": [row["ADDRESS"].strip()] if row.get("ADDRESS", "").strip() else [],
            "city": row.get("CITY", "").strip(),
            "state": row.get("STATE", "").strip(),
            "district": row.get("COUNTY", "").strip(),
            "postalCode": row.get("ZIP", "").strip(),
        }
        address = {key: value for key, value in address.items() if value}
        if address:
            resource["address"] = [{**address, "country": "US"}]
        if not resource["birthDate"]:
            del resource["birthDate"]
        return resource

    def _encounter(self, row: dict[str, str]) -> dict[str, Any]:
        encounter_class = row["ENCOUNTERCLASS"].strip().lower()
        period = {"start": fhir_datetime(row["START"]), "end": fhir_datetime(row["STOP"])}
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": fhir_id(row["Id"].strip()),
            "status": "finished",
            "class": coding(ACT_CODE, ENCOUNTER_CLASS.get(encounter_class, "AMB")),
            "type": [_code(row, SNOMED)],
            "subject": _patient_ref(row),
            "period": {key: value for key, value in period.items() if value},
        }
        reason = _reason(row)
        if reason:
            resource["reasonCode"] = reason
        return resource

    def _condition(self, row: dict[str, str]) -> dict[str, Any]:
        stop = fhir_date(row["STOP"])
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": _row_id("conditions", row),
            "clinicalStatus": concept(coding(CONDITION_CLINICAL, "resolved" if stop else "active")),
            "verificationStatus": concept(coding(CONDITION_VERIFICATION, "confirmed")),
            "code": _code(row, SNOMED),
            "subject": _patient_ref(row),
            "onsetDateTime": fhir_datetime(row["START"]),
        }
        if stop:
            resource["abatementDateTime"] = stop
        _encounter_ref(resource, row)
        if not resource["onsetDateTime"]:
            del resource["onsetDateTime"]
        return resource

    def _observation(self, row: dict[str, str]) -> dict[str, Any]:
        code = row["CODE"].strip()
        system = LOINC if LOINC_CODE.match(code) else LOCAL_OBSERVATION
        if row.get("SYSTEM", "").strip():
            system = canonical_system(row["SYSTEM"])
        display = row["DESCRIPTION"].strip() or None
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": _row_id("observations", row),
            "status": "final",
            "code": concept(coding(system, code, display), text=display),
            "subject": _patient_ref(row),
            "effectiveDateTime": fhir_datetime(row["DATE"]),
        }
        category = row.get("CATEGORY", "").strip()
        if category:
            resource["category"] = [concept(coding(OBSERVATION_CATEGORY, category))]
        _encounter_ref(resource, row)
        value = row["VALUE"].strip()
        numeric = number(value) if row.get("TYPE", "numeric").strip() == "numeric" else None
        if numeric is not None:
            resource["valueQuantity"] = quantity(numeric, row["UNITS"])
        elif value:
            resource["valueString"] = value
        else:
            raise ValueError("VALUE is empty")
        if not resource["effectiveDateTime"]:
            del resource["effectiveDateTime"]
        return resource

    def _medication_request(self, row: dict[str, str]) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": _row_id("medications", row),
            "status": "completed" if row["STOP"].strip() else "active",
            "intent": "order",
            "medicationCodeableConcept": _code(row, RXNORM),
            "subject": _patient_ref(row),
            "authoredOn": fhir_datetime(row["START"]),
        }
        _encounter_ref(resource, row)
        reason = _reason(row)
        if reason:
            resource["reasonCode"] = reason
        dispenses = number(row.get("DISPENSES", ""))
        if isinstance(dispenses, int) and dispenses > 1:
            resource["dispenseRequest"] = {"numberOfRepeatsAllowed": dispenses - 1}
        if not resource["authoredOn"]:
            del resource["authoredOn"]
        return resource

    def _procedure(self, row: dict[str, str]) -> dict[str, Any]:
        period = {"start": fhir_datetime(row["START"]), "end": fhir_datetime(row.get("STOP", ""))}
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": _row_id("procedures", row),
            "status": "completed",
            "code": _code(row, SNOMED),
            "subject": _patient_ref(row),
            "performedPeriod": {key: value for key, value in period.items() if value},
        }
        _encounter_ref(resource, row)
        reason = _reason(row)
        if reason:
            resource["reasonCode"] = reason
        return resource

    def _immunization(self, row: dict[str, str]) -> dict[str, Any]:
        occurrence = fhir_datetime(row["DATE"])
        if not occurrence:
            raise ValueError("DATE is empty")
        resource: dict[str, Any] = {
            "resourceType": "Immunization",
            "id": _row_id("immunizations", row),
            "status": "completed",
            "vaccineCode": _code(row, CVX),
            "patient": _patient_ref(row),
            "occurrenceDateTime": occurrence,
            "primarySource": True,
        }
        _encounter_ref(resource, row)
        return resource

    def _allergy(self, row: dict[str, str]) -> dict[str, Any]:
        active = not row["STOP"].strip()
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "id": _row_id("allergies", row),
            "clinicalStatus": concept(coding(ALLERGY_CLINICAL, "active" if active else "inactive")),
            "verificationStatus": concept(coding(ALLERGY_VERIFICATION, "confirmed")),
            "code": _code(row, SNOMED),
            "patient": _patient_ref(row),
        }
        onset = fhir_datetime(row["START"])
        if onset:
            resource["onsetDateTime"] = onset
        kind = row.get("TYPE", "").strip().lower()
        if kind in {"allergy", "intolerance"}:
            resource["type"] = kind
        category = row.get("CATEGORY", "").strip().lower()
        if category in {"food", "medication", "environment", "biologic"}:
            resource["category"] = [category]
        _encounter_ref(resource, row)
        reactions = []
        for n in ("1", "2"):
            if row.get(f"REACTION{n}", "").strip():
                reaction: dict[str, Any] = {"manifestation": [_code(row, SNOMED, f"REACTION{n}", f"DESCRIPTION{n}")]}
                severity = row.get(f"SEVERITY{n}", "").strip().lower()
                if severity in {"mild", "moderate", "severe"}:
                    reaction["severity"] = severity
                reactions.append(reaction)
        if reactions:
            resource["reaction"] = reactions
        return resource
