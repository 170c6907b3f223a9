"""mimic-iv reader on the real MIMIC-IV demo 2.2 (100 patients), plus error reporting on a small extract."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path

import pytest

from fhirmony.terminology import CoverageStats, Normalizer
from fhirmony.terminology.systems import ICD9CM, ICD10CM, ICD10PCS, LOINC, UCUM
from tests.conftest import shared_path
from tests.test_readers_common import ReadResult, invalid_resources, read_all, sample

TABLE_TYPES = {
    "patients": "Patient",
    "admissions": "Encounter",
    "diagnoses_icd": "Condition",
    "procedures_icd": "Procedure",
    "labevents": "Observation",
    "prescriptions": "MedicationRequest",
    "omr": "Observation",
}


@pytest.fixture(scope="module")
def mimic_dir() -> Path:
    return shared_path("data", "mimic-iv-demo-2.2")


@pytest.fixture(scope="module")
def mimic(mimic_dir: Path) -> ReadResult:
    return read_all("mimic-iv", mimic_dir)


def test_known_counts(mimic: ReadResult) -> None:
    assert mimic.errors == []
    assert mimic.counts == {
        "Patient": 100,
        "Encounter": 275,
        "Condition": 4506,
        "Procedure": 722,
        "Observation": 107727 + 2964,  # labevents + omr
        "MedicationRequest": 18087,
    }


def test_counts_reconcile_with_the_table_rows(mimic: ReadResult, mimic_dir: Path) -> None:
    rows: Counter[str] = Counter()
    for table, resource_type in TABLE_TYPES.items():
        with gzip.open(mimic_dir / "hosp" / f"{table}.csv.gz", "rt", newline="") as handle:
            rows[resource_type] += sum(1 for _ in csv.DictReader(handle))
    assert mimic.counts == rows


def test_ids_unique_and_references_resolve(mimic: ReadResult) -> None:
    patients = {p["id"] for p in mimic.of("Patient")}
    encounters = {e["id"] for e in mimic.of("Encounter")}
    assert len(encounters) == 275
    for resource_type in TABLE_TYPES.values():
        resources = mimic.of(resource_type)
        assert len({r["id"] for r in resources}) == len(resources), resource_type
        for resource in resources:
            if "subject" in resource:
                assert resource["subject"]["reference"].removeprefix("Patient/") in patients
            if "encounter" in resource and resource_type in ("Condition", "Procedure"):
                assert resource["encounter"]["reference"].removeprefix("Encounter/") in encounters


def test_patient_facts_and_future_dates(mimic: ReadResult) -> None:
    patient = next(p for p in mimic.of("Patient") if p["id"] == "10014729")
    assert patient["gender"] == "female" and patient["birthDate"] == "2104"  # anchor_year 2125 - age 21
    starts = [e["period"]["start"] for e in mimic.of("Encounter")]
    assert min(starts) > "2100"  # MIMIC shifts dates into the future: kept as they are


def test_icd_versions_become_their_code_systems(mimic: ReadResult) -> None:
    systems = [c["code"]["coding"][0]["system"] for c in mimic.of("Condition")]
    assert systems.count(ICD9CM) == 2193 and systems.count(ICD10CM) == 2313
    angina = next(c for c in mimic.of("Condition") if c["id"] == "22580999-3")
    assert angina["code"]["coding"][0] == {
        "system": ICD9CM,
        "code": "413.9",
        "display": "Other and unspecified angina pectoris",
    }
    procedure_systems = {p["code"]["coding"][0]["system"] for p in mimic.of("Procedure")}
    assert procedure_systems == {ICD9CM, ICD10PCS}


def test_labs_carry_loinc_and_local_codes(mimic: ReadResult) -> None:
    rdw = next(o for o in mimic.of("Observation") if o["id"] == "172061")
    codings = rdw["code"]["coding"]
    assert codings[0] == {"system": LOINC, "code": "788-0"}
    assert codings[1]["code"] == "51277" and codings[1]["display"] == "RDW"
    assert rdw["valueQuantity"] == {"value": 15.4, "unit": "%"}
    assert rdw["effectiveDateTime"] == "2148-08-16T00:00:00Z"
    with_loinc = sum(1 for o in mimic.of("Observation") if o["code"]["coding"][0]["system"] == LOINC)
    assert with_loinc / 110691 > 0.75


def test_normalized_sample_is_valid_r4(mimic: ReadResult) -> None:
    normalizer, stats = Normalizer.from_environment(crosswalk=shared_path("data", "icd-cm-crosswalk")), CoverageStats()
    resources = []
    for resource_type in TABLE_TYPES.values():
        resources += [normalizer.normalize(dict(r), stats) for r in sample(mimic.of(resource_type), 150)]
    assert invalid_resources(resources) == []
    potassium = next(
        r
        for r in resources
        if r["resourceType"] == "Observation" and r.get("valueQuantity", {}).get("code") == "mmol/L"
    )
    assert potassium["valueQuantity"]["system"] == UCUM


def test_missing_column_and_bad_rows_name_file_and_line(tmp_path: Path) -> None:
    hosp = tmp_path / "hosp"
    hosp.mkdir()
    (hosp / "patients.csv").write_text("subject_id,gender,anchor_age,anchor_year,dod\n1,F,30,2150,\n,M,40,2150,\n")
    (hosp / "admissions.csv").write_text("subject_id,hadm_id,admittime,dischtime\n1,9,2150-01-01 10:00:00,\n")
    (hosp / "diagnoses_icd.csv").write_text(
        "subject_id,hadm_id,seq_num,icd_code,icd_version\n1,9,1,4139,9\n1,9,2,I10,11\n"
    )
    result = read_all("mimic-iv", tmp_path, tables=["patients", "admissions", "diagnoses_icd"])
    assert result.counts == {"Patient": 1, "Condition": 1}
    errors = {(e.origin.file, e.origin.line): e.error for e in result.errors}
    assert errors[("hosp/patients.csv", 3)] == "subject_id is empty"
    assert "admission_type" in errors[("hosp/admissions.csv", 1)]
    assert "icd_version '11'" in errors[("hosp/diagnoses_icd.csv", 3)]


def test_zip_with_a_table_subset(mimic_dir: Path, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "mimic.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for table in ("patients", "admissions", "d_icd_diagnoses", "diagnoses_icd"):
            out.write(mimic_dir / "hosp" / f"{table}.csv.gz", f"mimic-iv/hosp/{table}.csv.gz")
    result = read_all("mimic-iv", archive, tables=["patients", "admissions", "diagnoses_icd"], utc_offset="-05:00")
    assert result.errors == [] and result.counts == {"Patient": 100, "Encounter": 275, "Condition": 4506}
    assert result.records[100].origin.file == "mimic-iv/hosp/admissions.csv.gz"
    assert result.of("Encounter")[0]["period"]["start"] == "2196-02-24T14:38:00-05:00"


def test_omr_vital_signs_carry_loinc_and_convert_to_canonical_units(mimic: ReadResult) -> None:
    vitals = {o["id"]: o for o in mimic.of("Observation") if o["id"].startswith("omr-")}
    assert len(vitals) == 2964
    weight = vitals["omr-10011398-2147-01-22-1-weight-lbs"]
    assert weight["code"]["coding"][0]["code"] == "29463-7"
    assert weight["valueQuantity"] == {"value": 127, "unit": "[lb_av]", "system": UCUM, "code": "[lb_av]"}
    normalized = Normalizer.from_environment().normalize(dict(weight), CoverageStats())
    assert normalized["valueQuantity"] == {"value": 57.6062, "unit": "kg", "system": UCUM, "code": "kg"}
    pressure = vitals["omr-10011398-2146-12-01-1-blood-pressure"]
    assert [c["code"]["coding"][0]["code"] for c in pressure["component"]] == ["8480-6", "8462-4"]
