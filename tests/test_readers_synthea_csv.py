"""synthea-csv reader on the real Synthea CSV export (107 patients), plus errors on a small extract."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fhirmony.terminology.systems import CVX, LOINC, RXNORM, SNOMED
from tests.conftest import shared_path
from tests.test_readers_common import ReadResult, invalid_resources, read_all, sample

TABLE_TYPES = {
    "patients": "Patient",
    "encounters": "Encounter",
    "conditions": "Condition",
    "observations": "Observation",
    "medications": "MedicationRequest",
    "procedures": "Procedure",
    "immunizations": "Immunization",
    "allergies": "AllergyIntolerance",
}


@pytest.fixture(scope="module")
def synthea_dir() -> Path:
    return shared_path("data", "synthea-csv-107")


@pytest.fixture(scope="module")
def synthea(synthea_dir: Path) -> ReadResult:
    return read_all("synthea-csv", synthea_dir)


def test_known_counts(synthea: ReadResult) -> None:
    assert synthea.errors == []
    assert synthea.counts == {
        "Patient": 107,
        "Encounter": 1274,
        "Condition": 55,
        "Observation": 3190,
        "MedicationRequest": 80,
        "Procedure": 243,
        "Immunization": 1323,
    }


def test_counts_reconcile_with_the_table_rows(synthea: ReadResult, synthea_dir: Path) -> None:
    for table, resource_type in TABLE_TYPES.items():
        with open(synthea_dir / f"{table}.csv", newline="", encoding="utf-8") as handle:
            assert synthea.counts[resource_type] == sum(1 for _ in csv.DictReader(handle)), table


def test_codes_and_references(synthea: ReadResult) -> None:
    patients = {p["id"] for p in synthea.of("Patient")}
    for resource_type in TABLE_TYPES.values():
        resources = synthea.of(resource_type)
        assert len({r["id"] for r in resources}) == len(resources), resource_type
        for resource in resources:
            own = {"reference": f"Patient/{resource['id']}"}
            reference = resource.get("subject") or resource.get("patient") or own
            assert reference["reference"].removeprefix("Patient/") in patients
    assert {c["code"]["coding"][0]["system"] for c in synthea.of("Condition")} == {SNOMED}
    assert {m["medicationCodeableConcept"]["coding"][0]["system"] for m in synthea.of("MedicationRequest")} == {RXNORM}
    assert {i["vaccineCode"]["coding"][0]["system"] for i in synthea.of("Immunization")} == {CVX}
    loinc = [o for o in synthea.of("Observation") if o["code"]["coding"][0]["system"] == LOINC]
    assert loinc and all(o["code"]["coding"][0]["code"].count("-") == 1 for o in loinc)
    first = next(p for p in synthea.of("Patient") if p["id"] == "6872def5-772f-427c-3053-de6e1c71ce0a")
    assert first["gender"] == "male" and first["birthDate"] == "2011-03-06"


def test_sample_is_valid_r4(synthea: ReadResult) -> None:
    resources = [r for t in TABLE_TYPES.values() for r in sample(synthea.of(t), 100)]
    assert invalid_resources(resources) == []


def test_bad_rows_name_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("Id,BIRTHDATE,GENDER\np1,1980-02-30x,F\np2,1990-01-01,M\n")
    (tmp_path / "immunizations.csv").write_text("DATE,PATIENT,ENCOUNTER,CODE\n2020-01-01,p2,,140\n")
    result = read_all("synthea-csv", tmp_path)
    assert result.counts == {"Patient": 1}
    errors = {(e.origin.file, e.origin.line): e for e in result.errors}
    assert "not a date" in errors[("patients.csv", 2)].error and errors[("patients.csv", 2)].raw.startswith("p1,")
    assert "DESCRIPTION" in errors[("immunizations.csv", 1)].error


def test_wrong_field_counts_and_encoding_errors_are_records(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_bytes(
        b"Id,BIRTHDATE,GENDER\np1,1980-01-01,F,extra\np2,1990-01-01\np3,1991-01-01,M\np4,19\xe9,F\n"
    )
    result = read_all("synthea-csv", tmp_path)
    assert result.counts == {"Patient": 1}  # p3; p4 stops the table: the file is not UTF-8
    errors = {e.origin.line: e for e in result.errors}
    assert errors[2].error == "row has 4 fields, the header has 3" and errors[2].raw == "p1,1980-01-01,F,extra"
    assert errors[3].error == "row has 2 fields, the header has 3"
    assert errors[5].origin.detail == "encoding" and "not utf-8-sig text" in errors[5].error
    latin = read_all("synthea-csv", tmp_path, encoding="latin-1")
    assert latin.counts == {"Patient": 1} and "not a date" in latin.errors[-1].error  # 19é read, then rejected


def test_absent_patient_table_is_an_error_record(tmp_path: Path) -> None:
    from fhirmony.config import SourceConfig
    from fhirmony.sources import reader_for

    (tmp_path / "encounters.csv").write_text("Id,START\n", encoding="utf-8")
    source = SourceConfig(id="x", country="US", format="synthea-csv", path=tmp_path, licence="CC0-1.0")
    records = list(reader_for(source).records())
    assert (records[0].origin.file, records[0].resource_type) == ("patients.csv", "Patient")
    assert records[0].error == f"table patients not found under {tmp_path}"
    assert records[1].origin.file == "encounters.csv" and "missing column(s)" in (records[1].error or "")
