"""The fhir stage: readers, R4B validation, quarantine with origin, and counts that reconcile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirmony.config import SourceConfig
from fhirmony.fhir.stage import output_files, run_fhir_stage, source_origins
from fhirmony.fhir.validate import validation_problem
from fhirmony.home import Home
from fhirmony.quarantine import read_quarantine
from tests.conftest import shared_path

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-02"}


def ndjson_source(tmp_path: Path, lines: list[str]) -> SourceConfig:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.000.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "log.ndjson").write_text('{"not": "a resource"}\n', encoding="utf-8")
    return SourceConfig(id="t", country="DE", format="fhir-ndjson", path=folder, licence="CC0-1.0")


def test_validation_names_the_field() -> None:
    assert validation_problem(PATIENT) is None
    problem = validation_problem({**PATIENT, "birthDate": "31.12.1970"})
    assert problem is not None and "Patient.birthDate" in problem
    assert "unknown resourceType" in (validation_problem({"resourceType": "Nope", "id": "x"}) or "")


@pytest.mark.parametrize("workers", [1, 2])
def test_invalid_records_are_quarantined_with_origin(tmp_path: Path, workers: int) -> None:
    lines = [
        json.dumps(PATIENT),
        "{this is not json",
        json.dumps({**PATIENT, "id": "p2", "birthDate": "31.12.1970"}),
        json.dumps({**PATIENT, "gender": "male"}),  # same id, other content
        json.dumps({**PATIENT, "id": "p3"}),
    ]
    home = Home(tmp_path / "home")
    result = run_fhir_stage(ndjson_source(tmp_path, lines), home, workers=workers, emit=lambda _: None)
    counts = result.counts["Patient"]
    assert (counts.read, counts.valid, counts.quarantined) == (5, 2, 3)
    assert result.read == result.valid + result.quarantined
    rejected = {r["line"]: r for r in read_quarantine(home.quarantine("t") / "fhir.ndjson")}
    assert set(rejected) == {2, 3, 4}
    assert rejected[2]["reason"].startswith("malformed JSON") and rejected[2]["file"] == "Patient.000.ndjson"
    assert "Patient.birthDate" in rejected[3]["reason"]
    assert rejected[4]["reason"].startswith("duplicate id (conflicting content): Patient/p1")
    written = output_files(home, "t")["Patient"]
    assert [json.loads(line)["id"] for line in written.read_text().splitlines()] == ["p1", "p3"]
    assert source_origins(written, {2}) == {2: ("Patient.000.ndjson", 5, "")}


@pytest.mark.parametrize(
    ("folder", "fmt", "patients"),
    [
        ("synthea-bulk-ndjson-10", "fhir-ndjson", 13),
        ("synthea-r4-bundles", "fhir-bundle", 8),
        ("mii-kds-testdata-de", "fhir-bundle", None),
    ],
)
def test_real_sources_reconcile(tmp_path: Path, folder: str, fmt: str, patients: int | None) -> None:
    source = SourceConfig(id="real", country="US", format=fmt, path=shared_path("data", folder), licence="CC0-1.0")
    home = Home(tmp_path / "home")
    result = run_fhir_stage(source, home, emit=lambda _: None)
    for counts in result.counts.values():
        assert counts.read == counts.valid + counts.quarantined
    quarantined = read_quarantine(home.quarantine("real") / "fhir.ndjson")
    assert len(quarantined) == result.quarantined
    assert all(r["file"] and r["line"] >= 1 and r["reason"] for r in quarantined)
    if patients is not None:
        assert result.counts["Patient"].valid == patients
    assert result.valid > 500
