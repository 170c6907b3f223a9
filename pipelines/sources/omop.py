"""`omop-cdm`: OMOP CDM 5.4 CSV tables (folder or zip) as FHIR R4 resources.

person (+ death) → Patient, visit_occurrence → Encounter, condition_occurrence → Condition,
measurement and observation → Observation, drug_exposure → MedicationRequest (Immunization when the
drug concept is CVX), procedure_occurrence → Procedure. Every concept_id is resolved through CONCEPT
(the extract's own, or `options.vocabulary`) to its vocabulary's canonical URI and concept_code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhirmony.config import SourceConfig
from fhirmony.sources._tabular import (
    TableError,
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
from fhirmony.sources.base import Origin, SourceRecord, register_reader
from fhirmony.terminology.systems import CVX, UCUM, system_table

OMOP_CONCEPT = "https://fhir-terminology.ohdsi.org"  # unresolved concept_ids keep this system
OMOP_VOCABULARY = "https://fhir-terminology.ohdsi.org/CodeSystem/"  # + vocabulary_id, for non-standard ones
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VISIT_CLASS = {
    "9201": "IMP",
    "262": "IMP",
    "9203": "EMER",
    "9202": "AMB",
    "581477": "AMB",
    "581476": "HH",
    "5083": "VR",
    "8717": "IMP",
    "8870": "EMER",
}
GENDER = {"8507": "male", "8532": "female", "8551": "unknown", "8521": "other"}

TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "person": ("Patient", ("person_id", "gender_concept_id", "year_of_birth")),
    "visit_occurrence": ("Encounter", ("visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date")),
    "condition_occurrence": (
        "Condition",
        ("condition_occurrence_id", "person_id", "condition_concept_id", "condition_start_date"),
    ),
    "measurement": ("Observation", ("measurement_id", "person_id", "measurement_concept_id", "measurement_date")),
    "observation": ("Observation", ("observation_id", "person_id", "observation_concept_id", "observation_date")),
    "drug_exposure": (
        "MedicationRequest",
        ("drug_exposure_id", "person_id", "drug_concept_id", "drug_exposure_start_date"),
    ),
    "procedure_occurrence": (
        "Procedure",
        ("procedure_occurrence_id", "person_id", "procedure_concept_id", "procedure_date"),
    ),
}


@dataclass(frozen=True, slots=True)
class Concept:
    vocabulary: str
    code: str
    name: str


def _when(row: dict[str, str], prefix: str) -> str | None:
    """`<prefix>_datetime` unless it is midnight (OMOP's filler for a date), else `<prefix>_date`."""
    stamp = row.get(f"{prefix}_datetime", "").strip()
    if stamp and not stamp.endswith(("00:00:00", "00:00")):
        return fhir_datetime(stamp)
    return fhir_date(row.get(f"{prefix}_date", "")) or (fhir_date(stamp) if stamp else None)


@register_reader("omop-cdm")
class OmopReader:
    """Options: `tables` (subset, in order), `vocabulary` (folder or zip holding CONCEPT.csv when the
    extract has none; relative to the source path)."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source
        self.tables = Tables(source.path, source.options.get("encoding", "utf-8-sig"))
        self.selected: list[str] = list(source.options.get("tables", TABLES))
        vocabulary = source.options.get("vocabulary")
        base = source.path.parent if source.path.is_file() else source.path
        self.vocabulary = Tables(base / vocabulary) if vocabulary else self.tables
        self.concepts: dict[str, Concept] = {}
        self.deaths: dict[str, str] = {}
        self._systems = system_table()

    def files(self) -> list[Path]:
        own = self.tables.files([*self.selected, "death", "concept"])
        return own if self.vocabulary is self.tables else own + self.vocabulary.files(["concept"])

    def records(self) -> Iterator[SourceRecord]:
        if not self.vocabulary.has("concept"):
            yield SourceRecord(
                Origin("CONCEPT.csv", 0, "vocabulary"),
                "Patient",
                error="OMOP CONCEPT table not found: concept_ids cannot be resolved",
            )
            return
        try:
            self._load_lookups()
        except TableError as error:
            yield SourceRecord(
                Origin(error.file, error.line, error.detail),
                "Patient",
                error=f"OMOP vocabulary unusable, concept_ids cannot be resolved: {error}",
            )
            return
        builders: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "person": self._patient,
            "visit_occurrence": self._encounter,
            "condition_occurrence": self._condition,
            "measurement": self._measurement,
            "observation": self._observation,
            "drug_exposure": self._drug,
            "procedure_occurrence": self._procedure,
        }
        yield from selected_table_records(
            self.tables, self.selected, TABLES, builders, essential=("person",), where=str(self.source.path)
        )

    def _load_lookups(self) -> None:
        if not self.concepts:
            required = ("concept_id", "concept_name", "vocabulary_id", "concept_code")
            for _, row in self.vocabulary.rows("concept", required):
                self.concepts[row["concept_id"]] = Concept(
                    row["vocabulary_id"], row["concept_code"], row["concept_name"]
                )
        if self.tables.has("death") and not self.deaths:
            for _, row in self.tables.rows("death", ("person_id", "death_date")):
                self.deaths[row["person_id"]] = row.get("death_datetime", "") or row["death_date"]

    # -- concepts -------------------------------------------------------------------------------------

    def _coding(self, concept_id: str) -> dict[str, Any] | None:
        concept_id = concept_id.strip()
        if not concept_id or concept_id == "0":
            return None
        found = self.concepts.get(concept_id)
        if found is None:
            return coding(OMOP_CONCEPT, concept_id)
        system = self._systems.canonical(found.vocabulary) or OMOP_VOCABULARY + fhir_id(found.vocabulary)
        return coding(system, found.code, found.name)

    def _concept(self, row: dict[str, str], prefix: str, required: bool = True) -> dict[str, Any]:
        """The standard concept, plus the source concept where it differs; text from the source value."""
        standard = self._coding(row.get(f"{prefix}_concept_id", ""))
        source = self._coding(row.get(f"{prefix}_source_concept_id", ""))
        if source == standard:
            source = None
        source_value = row.get(f"{prefix}_source_value", "").strip()
        text = standard.get("display") if standard else source_value or None
        result = concept(standard, source, text=text)
        if required and "coding" not in result and not text:
            raise ValueError(f"{prefix}_concept_id is 0 and {prefix}_source_value is empty")
        return result

    def _is_vocabulary(self, concept_id: str, vocabulary: str) -> bool:
        found = self.concepts.get(concept_id.strip())
        return found is not None and self._systems.canonical(found.vocabulary) == vocabulary

    @staticmethod
    def _refs(resource: dict[str, Any], row: dict[str, str], subject: str = "subject") -> dict[str, Any]:
        person = row["person_id"].strip()
        if not person:
            raise ValueError("person_id is empty")
        resource[subject] = {"reference": f"Patient/{fhir_id(person)}"}
        visit = row.get("visit_occurrence_id", "").strip()
        if visit and visit != "0":
            resource["encounter"] = {"reference": f"Encounter/{fhir_id(visit)}"}
        return resource

    # -- one builder per table ------------------------------------------------------------------------

    def _patient(self, row: dict[str, str]) -> dict[str, Any]:
        person = row["person_id"].strip()
        if not person:
            raise ValueError("person_id is empty")
        gender = GENDER.get(row["gender_concept_id"].strip())
        if gender is None:
            gender = {"M": "male", "F": "female"}.get(row.get("gender_source_value", "").strip().upper(), "unknown")
        resource: dict[str, Any] = {"resourceType": "Patient", "id": fhir_id(person), "gender": gender}
        if row.get("person_source_value", "").strip():
            resource["identifier"] = [
                {"system": "urn:omop:person_source_value", "value": row["person_source_value"].strip()}
            ]
        birth = fhir_date(row.get("birth_datetime", ""))
        if not birth:
            year, month, day = (number(row.get(k, "")) for k in ("year_of_birth", "month_of_birth", "day_of_birth"))
            if not isinstance(year, int):
                raise ValueError("year_of_birth is not a year")
            birth = f"{year:04d}"
            if isinstance(month, int):
                birth += f"-{month:02d}" + (f"-{day:02d}" if isinstance(day, int) else "")
        resource["birthDate"] = birth
        death = self.deaths.get(row["person_id"])
        if death:
            resource["deceasedDateTime"] = _when({"d_datetime": death, "d_date": death[:10]}, "d")
        return resource

    def _encounter(self, row: dict[str, str]) -> dict[str, Any]:
        period = {"start": _when(row, "visit_start"), "end": _when(row, "visit_end")}
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": fhir_id(row["visit_occurrence_id"].strip()),
            "status": "finished",
            "class": coding(ACT_CODE, VISIT_CLASS.get(row["visit_concept_id"].strip(), "AMB")),
            "period": {key: value for key, value in period.items() if value},
        }
        return self._refs(resource, {"person_id": row["person_id"]})

    def _condition(self, row: dict[str, str]) -> dict[str, Any]:
        end = _when(row, "condition_end")
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": fhir_id(row["condition_occurrence_id"].strip()),
            "clinicalStatus": concept(coding(CONDITION_CLINICAL, "resolved" if end else "active")),
            "code": self._concept(row, "condition"),
            "onsetDateTime": _when(row, "condition_start"),
        }
        if end:
            resource["abatementDateTime"] = end
        return self._refs(resource, row)

    def _value(self, resource: dict[str, Any], row: dict[str, str]) -> None:
        value = number(row.get("value_as_number", ""))
        if value is not None:
            unit = self._coding(row.get("unit_concept_id", ""))
            if unit and unit["system"] == UCUM:
                resource["valueQuantity"] = {"value": value, "unit": unit["code"], "system": UCUM, "code": unit["code"]}
            else:
                resource["valueQuantity"] = quantity(value, row.get("unit_source_value"))
            return
        answer = self._coding(row.get("value_as_concept_id", ""))
        if answer:
            resource["valueCodeableConcept"] = concept(answer, text=answer.get("display"))
            return
        text = (row.get("value_as_string", "") or row.get("value_source_value", "")).strip()
        if text:
            resource["valueString"] = text
        else:
            resource["dataAbsentReason"] = concept(coding(DATA_ABSENT, "unknown"))

    def _measurement(self, row: dict[str, str]) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": fhir_id("m", row["measurement_id"].strip()),
            "status": "final",
            "code": self._concept(row, "measurement"),
            "effectiveDateTime": _when(row, "measurement"),
        }
        self._value(resource, row)
        low, high = number(row.get("range_low", "")), number(row.get("range_high", ""))
        quantity_value = resource.get("valueQuantity")
        if quantity_value and (low is not None or high is not None):
            unit = {k: v for k, v in quantity_value.items() if k != "value"}
            bounds = {"low": low, "high": high}
            resource["referenceRange"] = [{k: {"value": v, **unit} for k, v in bounds.items() if v is not None}]
        return self._refs(resource, row)

    def _observation(self, row: dict[str, str]) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": fhir_id("o", row["observation_id"].strip()),
            "status": "final",
            "code": self._concept(row, "observation"),
            "effectiveDateTime": _when(row, "observation"),
        }
        self._value(resource, row)
        return self._refs(resource, row)

    def _drug(self, row: dict[str, str]) -> dict[str, Any]:
        medication = self._concept(row, "drug")
        start, end = _when(row, "drug_exposure_start"), _when(row, "drug_exposure_end")
        if self._is_vocabulary(row["drug_concept_id"], CVX):
            resource = {
                "resourceType": "Immunization",
                "id": fhir_id(row["drug_exposure_id"].strip()),
                "status": "completed",
                "vaccineCode": medication,
                "occurrenceDateTime": start,
            }
            return self._refs(resource, row, subject="patient")
        resource = {
            "resourceType": "MedicationRequest",
            "id": fhir_id(row["drug_exposure_id"].strip()),
            "status": "completed",
            "intent": "order",
            "medicationCodeableConcept": medication,
            "authoredOn": start,
        }
        dispense: dict[str, Any] = {"validityPeriod": {k: v for k, v in (("start", start), ("end", end)) if v}}
        days, amount, refills = (number(row.get(k, "")) for k in ("days_supply", "quantity", "refills"))
        if days:
            dispense["expectedSupplyDuration"] = {"value": days, "unit": "d", "system": UCUM, "code": "d"}
        if amount:
            dispense["quantity"] = {"value": amount}
        if isinstance(refills, int) and refills > 0:
            dispense["numberOfRepeatsAllowed"] = refills
        resource["dispenseRequest"] = dispense
        if row.get("sig", "").strip():
            resource["dosageInstruction"] = [{"text": row["sig"].strip()}]
        return self._refs(resource, row)

    def _procedure(self, row: dict[str, str]) -> dict[str, Any]:
        start, end = _when(row, "procedure"), _when(row, "procedure_end")
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": fhir_id(row["procedure_occurrence_id"].strip()),
            "status": "completed",
            "code": self._concept(row, "procedure"),
        }
        if end and end != start:
            resource["performedPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
        elif start:
            resource["performedDateTime"] = start
        return self._refs(resource, row)
