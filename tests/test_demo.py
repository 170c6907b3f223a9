"""The demo generator: deterministic, valid where it should be, and its truth file matches its files."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fhirmony.config import load_config
from fhirmony.demo import SOURCE_IDS, generate
from fhirmony.demo.__main__ import main as demo_main
from fhirmony.demo.catalog import CONDITIONS, LABS
from fhirmony.demo.defects import KINDS
from fhirmony.fhir.validate import validation_problem
from fhirmony.sources import SourceRecord, reader_for

PATIENTS = 60
LAB_BOUNDS = {code: lab for lab in LABS for code in (lab.si_loinc, lab.mass_loinc)}


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


VALID_CONDITION_CODES = {
    c for kind in CONDITIONS for c in (kind.icd10cm, kind.icd10gm, _dotted(kind.icd10), kind.snomed)
}


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("demo"), patients=PATIENTS, seed=7)


@pytest.fixture(scope="module")
def read(demo: Path) -> dict[str, list[SourceRecord]]:
    config = load_config(demo)
    return {source.id: list(reader_for(source).records()) for source in config.sources}


@pytest.fixture(scope="module")
def truth(demo: Path) -> dict[str, Any]:
    return json.loads((demo.parent / "truth.json").read_text(encoding="utf-8"))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", patients=25, seed=3)
    second = generate(tmp_path / "b", patients=25, seed=3)
    other = generate(tmp_path / "c", patients=25, seed=4)
    assert _digest(first.parent) == _digest(second.parent)
    assert len(_digest(first.parent)) > 10
    changed = {k for k, v in _digest(first.parent).items() if _digest(other.parent).get(k) != v}
    assert {"truth.json", "us-ehr/Patient.000.ndjson", "no-register/labsvar.csv"} <= changed


def test_regenerating_a_smaller_demo_leaves_no_stale_files(tmp_path: Path) -> None:
    generate(tmp_path, patients=30, seed=1)
    config = generate(tmp_path, patients=5, seed=1)
    bundles = list((config.parent / "de-klinik").rglob("*.json"))
    assert len(bundles) == 5


def test_config_is_a_valid_project_with_four_countries(demo: Path) -> None:
    config = load_config(demo)
    formats = {s.id: (s.country, s.format) for s in config.sources}
    assert formats == {
        "us-ehr": ("US", "fhir-ndjson"),
        "de-klinik": ("DE", "fhir-bundle"),
        "es-omop": ("ES", "omop-cdm"),
        "no-register": ("NO", "csv"),
    }
    registry = config.source("no-register")
    assert registry.mapping is not None and registry.mapping.is_file()
    assert config.privacy.key_file is not None and len(config.privacy.key_file.read_text().strip()) >= 16


def test_record_counts_match_the_truth(read: dict[str, list[SourceRecord]], truth: dict[str, Any]) -> None:
    for source_id in SOURCE_IDS:
        counts = Counter(record.resource_type for record in read[source_id])
        assert dict(counts) == truth["sources"][source_id]["records"], source_id
        patients = sum(1 for r in read[source_id] if r.resource_type == "Patient")
        assert patients == truth["sources"][source_id]["patients"] == PATIENTS


def test_every_defect_kind_is_present_with_its_stage(truth: dict[str, Any]) -> None:
    for source_id, source in truth["sources"].items():
        for name, defect in source["defects"].items():
            assert defect["stage"] == KINDS[name].stage
            assert defect["count"] == len(defect["where"]) > 0, (source_id, name)
    kinds = {name for source in truth["sources"].values() for name in source["defects"]}
    assert kinds == set(KINDS)


def test_quarantine_defects_are_exactly_the_invalid_records(
    read: dict[str, list[SourceRecord]], truth: dict[str, Any]
) -> None:
    """Reader errors and R4B failures are the injected quarantine defects, no more, no fewer."""
    for source_id, records in read.items():
        defects = truth["sources"][source_id]["defects"]
        expected = {
            (w["file"], w["line"])
            for name, d in defects.items()
            if d["stage"] == "quarantine" and name != "duplicate_id"
            for w in d["where"]
        }
        failing = {(r.origin.file, r.origin.line) for r in records if r.error or validation_problem(r.resource or {})}
        assert failing == expected, source_id
        seen: set[tuple[str, str]] = set()
        duplicates = set()
        for record in records:
            if record.resource and "id" in record.resource:
                key = (record.resource_type, record.resource["id"])
                if key in seen:
                    duplicates.add((record.origin.file, record.origin.line))
                seen.add(key)
        assert duplicates == {(w["file"], w["line"]) for w in defects["duplicate_id"]["where"]}, source_id
        quarantined = Counter(
            w["resource_type"] for d in defects.values() if d["stage"] == "quarantine" for w in d["where"]
        )
        assert dict(quarantined) == truth["sources"][source_id]["expected_quarantined"]


def _when(resource: dict[str, Any]) -> str | None:
    for key in ("effectiveDateTime", "onsetDateTime", "recordedDate"):
        if key in resource:
            return resource[key]
    return resource.get("period", {}).get("start")


def test_quality_defects_are_exactly_what_the_checks_must_find(
    read: dict[str, list[SourceRecord]], truth: dict[str, Any]
) -> None:
    """Each quality defect is valid FHIR at its recorded place, and no clean record looks like one."""
    reference = date.fromisoformat(truth["reference_date"])
    for source_id, records in read.items():
        defects = truth["sources"][source_id]["defects"]
        valid = [r for r in records if r.resource and not validation_problem(r.resource)]
        patients = {r.resource["id"] for r in valid if r.resource_type == "Patient"}
        found: dict[str, set[tuple[str, int]]] = {name: set() for name in defects if KINDS[name].stage == "quality"}
        for record in valid:
            resource, where = record.resource or {}, (record.origin.file, record.origin.line)
            kind = record.resource_type
            if kind == "Patient" and not ("gender" in resource and "birthDate" in resource):
                found["missing_value"].add(where)
            subject = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
            if subject and subject.removeprefix("Patient/") not in patients:
                found["missing_patient"].add(where)
            moment = _when(resource)
            if (
                kind in ("Encounter", "Condition", "Observation")
                and moment
                and date.fromisoformat(moment[:10]) > reference
            ):
                found["future_date"].add(where)
            if kind == "Condition":
                codings = resource["code"].get("coding")
                if not codings:
                    found["unmapped_concept"].add(where)
                elif codings[0]["code"] not in VALID_CONDITION_CODES:
                    found["invalid_code"].add(where)
            if kind == "Observation":
                code = resource["code"]["coding"][0]["code"]
                lab = LAB_BOUNDS.get(code)
                if lab is None:
                    if "laboratory" in json.dumps(resource.get("category")):
                        found["invalid_code"].add(where)
                    continue
                value = resource["valueQuantity"]["value"]
                mass = resource["valueQuantity"]["code"] != lab.si_unit
                low, high = (lab.low * lab.factor, lab.high * lab.factor) if mass else (lab.low, lab.high)
                if not low <= value <= high:
                    found["out_of_range"].add(where)
        for name, places in found.items():
            injected = {(w["file"], w["line"]) for w in defects[name]["where"]}
            assert places == injected, (source_id, name)


def test_clean_demo_has_no_defects(tmp_path: Path) -> None:
    config = generate(tmp_path, patients=15, seed=11, defect_scale=0)
    truth = json.loads((config.parent / "truth.json").read_text(encoding="utf-8"))
    assert all(d["count"] == 0 for s in truth["sources"].values() for d in s["defects"].values())
    for source in load_config(config).sources:
        problems = [r.error or validation_problem(r.resource or {}) for r in reader_for(source).records()]
        assert not any(problems), source.id


def test_memory_stays_flat_in_patient_count(tmp_path: Path) -> None:
    peaks = []
    for patients in (60, 480):
        tracemalloc.start()
        generate(tmp_path / str(patients), patients=patients, seed=5, sources=["us-ehr", "no-register"])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 1_000_000, peaks


def test_module_entry_point_writes_a_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main(["--patients", "3", "--seed", "2", "--out", str(tmp_path), "--sources", "de-klinik"]) == 0
    assert "de-klinik" in capsys.readouterr().out
    assert [s.id for s in load_config(tmp_path / "fhirmony.yaml").sources] == ["de-klinik"]
    with pytest.raises(SystemExit):
        demo_main(["--out", str(tmp_path), "--sources", "xx-nowhere"])


def test_rate_overrides(tmp_path: Path) -> None:
    config = generate(
        tmp_path, patients=40, seed=2, sources=["us-ehr"], rates={"missing_value": 0, "out_of_range": 0.1}
    )
    defects = json.loads((config.parent / "truth.json").read_text(encoding="utf-8"))["sources"]["us-ehr"]["defects"]
    assert defects["missing_value"]["count"] == 0 and defects["missing_value"]["rate"] == 0
    assert defects["out_of_range"]["rate"] == 0.1 and defects["out_of_range"]["count"] > 20
    assert defects["future_date"]["count"] > 0
    with pytest.raises(ValueError, match="unknown defect kinds"):
        generate(tmp_path, patients=1, rates={"typo": 0.1})
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        generate(tmp_path, patients=1, rates={"missing_value": 0.5}, defect_scale=2)
