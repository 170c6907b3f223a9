"""`mimic-iv`: the MIMIC-IV `hosp` module (CSV or CSV.gz, folder or zip) as FHIR R4 resources.

patients → Patient, admissions → Encounter, diagnoses_icd → Condition (ICD-9-CM or ICD-10-CM by
icd_version), procedures_icd → Procedure (ICD-9-CM vol. 3 or ICD-10-PCS), labevents + d_labitems →
Observation (LOINC for the common labs, always the local itemid), prescriptions → MedicationRequest
(NDC and the local formulary code), omr → vital-sign Observation (weight, height, BMI, blood
pressure with LOINC codes). MIMIC dates are shifted into 2100–2200 by design; they are kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
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
from fhirmony.terminology.icd import dotted_icd9_diagnosis, dotted_icd9_procedure, dotted_icd10
from fhirmony.terminology.systems import ICD9CM, ICD10CM, ICD10PCS, LOINC, NDC, UCUM
from fhirmony.terminology.tables import load_table

MIMIC = "http://mimic.mit.edu/fhir/mimic"
LAB_SYSTEM = f"{MIMIC}/CodeSystem/mimic-d-labitems"
FORMULARY_SYSTEM = f"{MIMIC}/CodeSystem/mimic-medication-formulary-drug-cd"
ADMISSION_TYPE_SYSTEM = f"{MIMIC}/CodeSystem/mimic-admission-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients": ("Patient", ("subject_id", "gender", "anchor_age", "anchor_year", "dod")),
    "admissions": ("Encounter", ("subject_id", "hadm_id", "admittime", "dischtime", "admission_type")),
    "diagnoses_icd": ("Condition", ("subject_id", "hadm_id", "seq_num", "icd_code", "icd_version")),
    "procedures_icd": ("Procedure", ("subject_id", "hadm_id", "seq_num", "chartdate", "icd_code", "icd_version")),
    "labevents": (
        "Observation",
        (
            "labevent_id",
            "subject_id",
            "hadm_id",
            "itemid",
            "charttime",
            "value",
            "valuenum",
            "valueuom",
            "ref_range_lower",
            "ref_range_upper",
            "flag",
        ),
    ),
    "prescriptions": (
        "MedicationRequest",
        (
            "subject_id",
            "hadm_id",
            "starttime",
            "stoptime",
            "drug",
            "ndc",
            "formulary_drug_cd",
            "dose_val_rx",
            "dose_unit_rx",
            "route",
        ),
    ),
    "omr": ("Observation", ("subject_id", "chartdate", "seq_num", "result_name", "result_value")),
}
LOOKUPS = ("d_labitems", "d_icd_diagnoses", "d_icd_procedures")
OMR_SYSTEM = f"{MIMIC}/CodeSystem/mimic-omr"
# omr result_name → (LOINC, display, UCUM unit); the terminology stage converts lbs and inches to kg and cm
OMR_CODES = {
    "Weight (Lbs)": ("29463-7", "Body weight", "[lb_av]"),
    "Height (Inches)": ("8302-2", "Body height", "[in_i]"),
    "BMI (kg/m2)": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
}
BLOOD_PRESSURE = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = (("8480-6", "Systolic blood pressure"), ("8462-4", "Diastolic blood pressure"))
ENCOUNTER_CLASS = {
    "EW EMER.": "EMER",
    "DIRECT EMER.": "EMER",
    "URGENT": "EMER",
    "OBSERVATION ADMIT": "OBSENC",
    "EU OBSERVATION": "OBSENC",
    "DIRECT OBSERVATION": "OBSENC",
    "AMBULATORY OBSERVATION": "OBSENC",
}


@register_reader("mimic-iv")
class MimicReader:
    """Options: `tables` (subset of the seven, in order), `utc_offset` (zone written on times, default Z:
    MIMIC's shifted local times have no real zone), `displays` (ICD titles from d_icd_*, default true)."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source
        self.tables = Tables(source.path, source.options.get("encoding", "utf-8-sig"))
        self.offset: str = source.options.get("utc_offset", "Z")
        self.selected: list[str] = list(source.options.get("tables", TABLES))
        self.with_displays: bool = source.options.get("displays", True)
        self._labitems: dict[str, tuple[str, str]] = {}
        self._titles: dict[tuple[str, str, str], str] = {}
        self._loinc: dict[str, str] = load_table("mimic_labitems_loinc.json")["itemids"]

    def files(self) -> list[Path]:
        return self.tables.files([*self.selected, *LOOKUPS])

    def records(self) -> Iterator[SourceRecord]:
        try:
            self._load_lookups()
        except TableError as error:  # labs keep their itemid, ICD codes lose their titles: say so once
            yield SourceRecord(
                Origin(error.file, error.line, error.detail), "Observation", error=f"lookup table unusable: {error}"
            )
        builders: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "patients": self._patient,
            "admissions": self._encounter,
            "diagnoses_icd": self._condition,
            "procedures_icd": self._procedure,
            "labevents": self._observation,
            "prescriptions": self._medication_request,
            "omr": self._vital_sign,
        }
        yield from selected_table_records(
            self.tables,
            self.selected,
            TABLES,
            builders,
            essential=("patients", "admissions"),
            where=str(self.source.path),
        )

    def _load_lookups(self) -> None:
        if self.tables.has("d_labitems") and not self._labitems:
            for _, row in self.tables.rows("d_labitems", ("itemid", "label")):
                self._labitems[row["itemid"]] = (row["label"], row.get("fluid", ""))
        if not self.with_displays or self._titles:
            return
        for table, kind, user in (
            ("d_icd_diagnoses", "dx", "diagnoses_icd"),
            ("d_icd_procedures", "px", "procedures_icd"),
        ):
            if self.tables.has(table) and user in self.selected:
                for _, row in self.tables.rows(table, ("icd_code", "icd_version", "long_title")):
                    self._titles[(kind, row["icd_version"], row["icd_code"].strip())] = row["long_title"]

    def _time(self, value: str) -> str | None:
        return fhir_datetime(value, self.offset)

    # -- one builder per table ------------------------------------------------------------------------

    def _patient(self, row: dict[str, str]) -> dict[str, Any]:
        subject = row["subject_id"].strip()
        if not subject:
            raise ValueError("subject_id is empty")
        gender = {"F": "female", "M": "male"}.get(row["gender"].strip(), "unknown")
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": fhir_id(subject),
            "identifier": [{"system": f"{MIMIC}/identifier/patient", "value": subject}],
            "gender": gender,
        }
        age, year = number(row["anchor_age"]), number(row["anchor_year"])
        if isinstance(age, int) and isinstance(year, int):
            resource["birthDate"] = f"{year - age:04d}"  # MIMIC gives the age in the anchor year only
        dod = fhir_date(row["dod"])
        if dod:
            resource["deceasedDateTime"] = dod
        return resource

    def _encounter(self, row: dict[str, str]) -> dict[str, Any]:
        admission_type = row["admission_type"].strip()
        period = {"start": self._time(row["admittime"]), "end": self._time(row["dischtime"])}
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": fhir_id(row["hadm_id"]),
            "identifier": [{"system": f"{MIMIC}/identifier/encounter-hosp", "value": row["hadm_id"]}],
            "status": "finished",
            "class": coding(ACT_CODE, ENCOUNTER_CLASS.get(admission_type, "IMP")),
            "subject": {"reference": f"Patient/{row['subject_id']}"},
            "period": {key: value for key, value in period.items() if value},
        }
        if admission_type:
            resource["type"] = [concept(coding(ADMISSION_TYPE_SYSTEM, admission_type), text=admission_type)]
        hospitalization: dict[str, Any] = {}
        if row.get("admission_location"):
            hospitalization["admitSource"] = {"text": row["admission_location"]}
        if row.get("discharge_location"):
            hospitalization["dischargeDisposition"] = {"text": row["discharge_location"]}
        if hospitalization:
            resource["hospitalization"] = hospitalization
        return resource

    def _icd(self, kind: str, version: str, code: str) -> dict[str, Any]:
        code = code.strip()
        if not code:
            raise ValueError("icd_code is empty")
        if version == "9":
            system = ICD9CM
            dotted = dotted_icd9_diagnosis(code) if kind == "dx" else dotted_icd9_procedure(code)
        elif version == "10":
            system, dotted = (ICD10CM, dotted_icd10(code)) if kind == "dx" else (ICD10PCS, code)
        else:
            raise ValueError(f"icd_version {version!r} is neither 9 nor 10")
        return concept(coding(system, dotted, self._titles.get((kind, version, code))))

    def _condition(self, row: dict[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": fhir_id(row["hadm_id"], row["seq_num"]),
            "category": [concept(coding(CONDITION_CATEGORY, "encounter-diagnosis"))],
            "code": self._icd("dx", row["icd_version"].strip(), row["icd_code"]),
            "subject": {"reference": f"Patient/{row['subject_id']}"},
            "encounter": {"reference": f"Encounter/{row['hadm_id']}"},
        }

    def _procedure(self, row: dict[str, str]) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": fhir_id(row["hadm_id"], row["seq_num"]),
            "status": "completed",
            "code": self._icd("px", row["icd_version"].strip(), row["icd_code"]),
            "subject": {"reference": f"Patient/{row['subject_id']}"},
            "encounter": {"reference": f"Encounter/{row['hadm_id']}"},
        }
        performed = fhir_date(row["chartdate"])
        if performed:
            resource["performedDateTime"] = performed
        return resource

    def _observation(self, row: dict[str, str]) -> dict[str, Any]:
        itemid = row["itemid"].strip()
        label, fluid = self._labitems.get(itemid, ("", ""))
        loinc = self._loinc.get(itemid)
        text = f"{label} ({fluid})" if label and fluid else label or None
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": fhir_id(row["labevent_id"]),
            "status": "final",
            "category": [concept(coding(OBSERVATION_CATEGORY, "laboratory"))],
            "code": concept(coding(LOINC, loinc) if loinc else None, coding(LAB_SYSTEM, itemid, label), text=text),
            "subject": {"reference": f"Patient/{row['subject_id']}"},
        }
        if row["hadm_id"].strip():
            resource["encounter"] = {"reference": f"Encounter/{row['hadm_id'].strip()}"}
        effective = self._time(row["charttime"])
        if effective:
            resource["effectiveDateTime"] = effective
        issued = self._time(row.get("storetime", ""))
        if issued and "T" in issued:
            resource["issued"] = issued
        unit = row["valueuom"].strip()
        unit = "" if unit.upper() == "N/A" else unit
        value = number(row["valuenum"])
        if value is not None:
            resource["valueQuantity"] = quantity(value, unit)
        elif row["value"].strip() and row["value"].strip() != "___":
            resource["valueString"] = row["value"].strip()
        else:
            resource["dataAbsentReason"] = concept(
                coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown")
            )
        low, high = number(row["ref_range_lower"]), number(row["ref_range_upper"])
        if value is not None and (low is not None or high is not None):
            bounds = {"low": low, "high": high}
            resource["referenceRange"] = [{k: quantity(v, unit) for k, v in bounds.items() if v is not None}]
        if row["flag"].strip() == "abnormal":
            resource["interpretation"] = [concept(coding(INTERPRETATION, "A", "Abnormal"))]
        if row.get("comments", "").strip():
            resource["note"] = [{"text": row["comments"].strip()}]
        return resource

    def _vital_sign(self, row: dict[str, str]) -> dict[str, Any]:
        """omr (outpatient measurements): weight, height, BMI and blood pressure with LOINC codes."""
        name, value = row["result_name"].strip(), row["result_value"].strip()
        if not name or not value:
            raise ValueError("result_name or result_value is empty")
        local = coding(OMR_SYSTEM, name)
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": fhir_id("omr", row["subject_id"], row["chartdate"], row["seq_num"], _slug(name)),
            "status": "final",
            "category": [concept(coding(OBSERVATION_CATEGORY, "vital-signs"))],
            "subject": {"reference": f"Patient/{row['subject_id']}"},
            "effectiveDateTime": fhir_date(row["chartdate"]),
        }
        if name in OMR_CODES:
            loinc, display, unit = OMR_CODES[name]
            measured = number(value)
            if measured is None:
                raise ValueError(f"{name} {value!r} is not a number")
            resource["code"] = concept(coding(LOINC, loinc, display), local, text=name)
            resource["valueQuantity"] = {"value": measured, "unit": unit, "system": UCUM, "code": unit}
        elif name.startswith("Blood Pressure"):
            resource["code"] = concept(coding(LOINC, *BLOOD_PRESSURE), local, text=name)
            resource["component"] = _blood_pressure(value)
        else:
            resource["code"] = concept(local, text=name)
            resource["valueString"] = value
        return resource

    def _medication_request(self, row: dict[str, str]) -> dict[str, Any]:
        drug = row["drug"].strip()
        ndc = row["ndc"].strip()
        formulary = row["formulary_drug_cd"].strip()
        key = row.get("pharmacy_id", "").strip() or row.get("poe_id", "").strip()
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": fhir_id(row["hadm_id"], key, row.get("drug_type", ""), _short_hash(row)),
            "status": "completed",
            "intent": "order",
            "medicationCodeableConcept": concept(
                coding(NDC, ndc) if ndc and ndc != "0" else None,
                coding(FORMULARY_SYSTEM, formulary, drug) if formulary else None,
                text=drug or None,
            ),
            "subject": {"reference": f"Patient/{row['subject_id']}"},
        }
        if row["hadm_id"].strip():
            resource["encounter"] = {"reference": f"Encounter/{row['hadm_id'].strip()}"}
        start, stop = self._time(row["starttime"]), self._time(row["stoptime"])
        if start:
            resource["authoredOn"] = start
        if start or stop:
            period = {key: value for key, value in (("start", start), ("end", stop)) if value}
            resource["dispenseRequest"] = {"validityPeriod": period}
        dosage = _dosage(row["dose_val_rx"], row["dose_unit_rx"], row["route"])
        if dosage:
            resource["dosageInstruction"] = [dosage]
        return resource


def _blood_pressure(value: str) -> list[dict[str, Any]]:
    systolic, _, diastolic = value.partition("/")
    numbers = [number(systolic), number(diastolic)]
    if any(n is None for n in numbers):
        raise ValueError(f"blood pressure {value!r} is not systolic/diastolic")
    return [
        {
            "code": concept(coding(LOINC, code, display)),
            "valueQuantity": {"value": n, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }
        for (code, display), n in zip(BP_PARTS, numbers, strict=True)
    ]


def _dosage(dose: str, unit: str, route: str) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    dose, unit = dose.strip(), unit.strip()
    if route.strip():
        dosage["route"] = {"text": route.strip()}
    if not dose:
        return dosage
    value = number(dose)
    if value is not None:
        dosage["doseAndRate"] = [{"doseQuantity": quantity(value, unit)}]
        return dosage
    low, _, high = dose.partition("-")
    low_value, high_value = number(low), number(high)
    if low_value is not None and high_value is not None:
        dosage["doseAndRate"] = [{"doseRange": {"low": quantity(low_value, unit), "high": quantity(high_value, unit)}}]
    else:
        dosage["text"] = f"{dose} {unit}".strip()
    return dosage


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:20]


def _short_hash(row: dict[str, str]) -> str:
    """8 hex digits of the row content: pharmacy_id alone is not unique in prescriptions."""
    return hashlib.blake2b("\x1f".join(row.values()).encode(), digest_size=4).hexdigest()
