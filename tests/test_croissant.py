"""croissant.json: valid Croissant 1.1 for mlcroissant, records load through it, facts are right."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mlcroissant as mlc
import pyarrow.parquet as pq
import pytest
from test_api import make_release

from fhirmony.publish.croissant import write_croissant

RAI_FIELDS = [
    "dataCollection", "dataCollectionType", "dataCollectionMissingData", "dataCollectionRawData",
    "dataCollectionTimeframe", "dataImputationProtocol", "dataManipulationProtocol", "dataPreprocessingProtocol",
    "dataAnnotationProtocol", "dataAnnotationPlatform", "dataAnnotationAnalysis", "annotationsPerItem",
    "annotatorDemographics", "machineAnnotationTools", "dataUseCases", "dataBiases", "dataLimitations",
    "dataSocialImpact", "personalSensitiveInformation", "dataReleaseMaintenancePlan",
]  # fmt: skip


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "rel-croissant")


def test_mlcroissant_validates_and_loads_every_record(release: Path) -> None:
    path = write_croissant(release)
    dataset = mlc.Dataset(jsonld=str(path))
    assert not dataset.metadata.ctx.issues.errors
    patients = list(dataset.records("patient"))
    assert len(patients) == 10
    assert {r["patient/country"] for r in patients} == {b"DE", b"US"}
    assert {r["patient/split"] for r in patients} <= {b"train", b"validation", b"test"}
    assert len(list(dataset.records("encounter"))) == 20


def test_partition_column_comes_from_the_path_when_not_in_the_files(release: Path) -> None:
    for part in (release / "data" / "patient").rglob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["country"]), part)
    dataset = mlc.Dataset(jsonld=str(write_croissant(release)))
    countries = sorted(r["patient/country"] for r in dataset.records("patient"))
    assert countries == [b"DE"] * 6 + [b"US"] * 4


def test_files_carry_sha256_and_record_sets_mirror_the_schemas(release: Path) -> None:
    document = json.loads(write_croissant(release).read_text())
    objects = {d["contentUrl"]: d for d in document["distribution"] if d["@type"] == "cr:FileObject"}
    parquet = sorted(p.relative_to(release).as_posix() for p in release.rglob("*.parquet"))
    assert sorted(objects) == parquet
    for relative, entry in objects.items():
        assert entry["sha256"] == hashlib.sha256((release / relative).read_bytes()).hexdigest()
    record_sets = {r["name"]: r for r in document["recordSet"]}
    assert set(record_sets) == {"patient", "encounter", "observation", "condition"}
    schema = pq.read_schema(release / "data" / "encounter" / "country=DE" / "part-de-mii.parquet")
    fields = {f["name"]: f["dataType"] for f in record_sets["encounter"]["field"]}
    assert list(fields) == schema.names
    assert fields["period_start"] == "sc:DateTime" and fields["class_code"] == "sc:Text"
    assert "shifted" in next(f["description"] for f in record_sets["encounter"]["field"] if f["name"] == "period_start")


def test_rai_provenance_licence_and_health_fields(release: Path) -> None:
    answers = {"uses": {"tasks": ["readmission prediction"]}, "maintenance.updates": "Quarterly."}
    document = json.loads(write_croissant(release, answers).read_text())
    assert "http://mlcommons.org/croissant/1.1" in document["conformsTo"]
    for name in RAI_FIELDS:
        assert document.get(f"rai:{name}"), name
    assert document["rai:dataUseCases"] == ["readmission prediction"]
    assert document["rai:dataReleaseMaintenancePlan"] == "Quarterly."
    assert document["rai:dataBiases"] == ["Not yet answered by the data steward (see datasheet.md)."]
    assert "fhir.resources R4B (4.3.0" in document["rai:dataManipulationProtocol"]
    assert document["license"] == "https://opendatacommons.org/licenses/odbl/1-0/"
    assert [s["identifier"] for s in document["isBasedOn"]] == ["de-mii", "us-mimic"]
    assert document["healthdcatap:numberOfUniqueIndividuals"] == 10
    assert document["healthdcatap:numberOfRecords"] == 50
    assert document["healthdcatap:hasCodingSystem"] == ["http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org"]
    low, high = document["healthdcatap:minTypicalAge"], document["healthdcatap:maxTypicalAge"]
    assert 33 <= low <= 36 and 69 <= high <= 71  # born 1985 and 1950, last encounters in 2020 (shifted alike)
    assert document["dct:spatial"] == ["DE", "US"]
