"""The national sources through the fhir stage: every resource normalized and valid R4, counts reconcile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhirmony.config import SourceConfig
from fhirmony.fhir.stage import run_fhir_stage
from fhirmony.home import Home
from tests.conftest import shared_path

MIMIC_TABLES = ["patients", "admissions", "diagnoses_icd", "procedures_icd", "prescriptions", "omr"]
CASES: list[tuple[str, tuple[str, ...], dict[str, Any], dict[str, int]]] = [
    (
        "mimic-iv",
        ("mimic-iv-demo-2.2",),
        {"tables": MIMIC_TABLES},
        {
            "Patient": 100,
            "Encounter": 275,
            "Condition": 4506,
            "Procedure": 722,
            "MedicationRequest": 18087,
            "Observation": 2964,
        },
    ),
    (
        "omop-cdm",
        ("eunomia-synthea27nj-omop", "Synthea27Nj_5.4.zip"),
        {},
        {
            "Patient": 28,
            "Encounter": 1791,
            "Condition": 470,
            "Observation": 18139,
            "MedicationRequest": 883,
            "Procedure": 1649,
        },
    ),
    (
        "synthea-csv",
        ("synthea-csv-107",),
        {},
        {
            "Patient": 107,
            "Encounter": 1274,
            "Condition": 55,
            "Observation": 3190,
            "MedicationRequest": 80,
            "Procedure": 243,
            "Immunization": 1323,
        },
    ),
]


@pytest.mark.parametrize(("fmt", "parts", "options", "expected"), CASES, ids=[case[0] for case in CASES])
def test_every_record_is_valid_after_normalization(
    tmp_path: Path, fmt: str, parts: tuple[str, ...], options: dict[str, Any], expected: dict[str, int]
) -> None:
    source = SourceConfig(
        id=fmt.replace("-", ""),
        country="US",
        format=fmt,
        path=shared_path("data", *parts),
        licence="test",
        options=options,
    )
    result = run_fhir_stage(source, Home(tmp_path / "home"), workers=2)
    counts = {name: c.to_dict() for name, c in result.counts.items()}
    assert {name: c["read"] for name, c in counts.items()} == expected
    assert result.quarantined == 0, dict(result.quarantine_reasons)
    assert all(c["read"] == c["valid"] + c["quarantined"] for c in counts.values())
    assert result.coverage["codes"]["total"] > 0
    if fmt == "mimic-iv":
        assert result.coverage["icd9_to_icd10cm"]["mapped"] == 2163
        assert result.coverage["units"]["conversions"]["29463-7: [lb_av] -> kg"] == 941
