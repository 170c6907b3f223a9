"""omop-cdm reader on the real Eunomia Synthea27Nj OMOP CDM 5.4 zip (28 persons), folder and zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fhirmony.terminology.systems import LOINC, RXNORM, SNOMED, UCUM
from tests.conftest import shared_path
from tests.test_readers_common import ReadResult, invalid_resources, read_all, sample

EXPECTED = {
    "Patient": 28,
    "Encounter": 1791,
    "Condition": 470,
    "Observation": 10040 + 8099,
    "MedicationRequest": 883,
    "Procedure": 1649,
}


@pytest.fixture(scope="module")
def omop_zip() -> Path:
    return shared_path("data", "eunomia-synthea27nj-omop", "Synthea27Nj_5.4.zip")


@pytest.fixture(scope="module")
def omop(omop_zip: Path) -> ReadResult:
    return read_all("omop-cdm", omop_zip)


def test_known_counts_from_the_zip(omop: ReadResult) -> None:
    assert omop.errors == []
    assert omop.counts == EXPECTED  # measurement 10,040 + observation 8,099 rows


def test_concepts_resolve_to_standard_systems(omop: ReadResult) -> None:
    weight = next(o for o in omop.of("Observation") if o["id"] == "m-1")
    assert weight["code"]["coding"] == [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]
    assert weight["valueQuantity"] == {"value": 48.1, "unit": "kg", "system": UCUM, "code": "kg"}
    assert {c["code"]["coding"][0]["system"] for c in omop.of("Condition")} == {SNOMED}
    assert {m["medicationCodeableConcept"]["coding"][0]["system"] for m in omop.of("MedicationRequest")} == {RXNORM}
    otitis = next(c for c in omop.of("Condition") if c["id"] == "1")
    assert otitis["code"]["coding"][0]["code"] == "65363002" and otitis["abatementDateTime"] == "2003-03-20"


def test_deaths_and_references(omop: ReadResult) -> None:
    patients = {p["id"]: p for p in omop.of("Patient")}
    assert sum(1 for p in patients.values() if "deceasedDateTime" in p) == 3  # DEATH.csv has 3 rows
    assert patients["7"]["deceasedDateTime"] == "2019-05-28"
    encounters = {e["id"] for e in omop.of("Encounter")}
    for resource_type in EXPECTED:
        for resource in omop.of(resource_type):
            if "subject" in resource:
                assert resource["subject"]["reference"].removeprefix("Patient/") in patients
            if "encounter" in resource:
                assert resource["encounter"]["reference"].removeprefix("Encounter/") in encounters


def test_sample_is_valid_r4(omop: ReadResult) -> None:
    resources = [r for t in EXPECTED for r in sample(omop.of(t), 100)]
    assert invalid_resources(resources) == []


def test_folder_and_missing_concept_table(omop_zip: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(omop_zip) as archive:
        for member in ("PERSON.csv", "CONCEPT.csv", "DEATH.csv"):
            (tmp_path / member).write_bytes(archive.read(member))
    assert read_all("omop-cdm", tmp_path).counts == {"Patient": 28}
    (tmp_path / "CONCEPT.csv").unlink()
    result = read_all("omop-cdm", tmp_path)
    assert result.counts == {} and "CONCEPT" in result.errors[0].error


def test_vocabulary_option_points_at_a_separate_concept_table(omop_zip: Path, tmp_path: Path) -> None:
    extract, vocabulary = tmp_path / "extract", tmp_path / "vocab"
    extract.mkdir()
    vocabulary.mkdir()
    with zipfile.ZipFile(omop_zip) as archive:
        for member in ("PERSON.csv", "CONDITION_OCCURRENCE.csv"):
            (extract / member).write_bytes(archive.read(member))
        (vocabulary / "CONCEPT.csv").write_bytes(archive.read("CONCEPT.csv"))
    result = read_all("omop-cdm", extract, vocabulary="../vocab")
    assert result.errors == [] and result.counts == {"Patient": 28, "Condition": 470}
    assert {c["code"]["coding"][0]["system"] for c in result.of("Condition")} == {SNOMED}
