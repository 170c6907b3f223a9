"""A source's `coding:` and `units:` hints fill what its data leaves unsaid, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhirmony.config import SourceConfig
from fhirmony.fhir.stage import output_files, run_fhir_stage
from fhirmony.home import Home
from fhirmony.terminology import CoverageStats, HintError, Normalizer, resolve_hints
from fhirmony.terminology.systems import ICD10GM, LOINC, SNOMED, UCUM


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.from_environment()


def condition(*codings: dict) -> dict:
    return {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": list(codings)},
    }


def glucose(value: float, **quantity: str) -> dict:
    code = {"coding": [{"system": "LOINC", "code": "2345-7"}]}  # an alias: canonical before the hint applies
    return {"resourceType": "Observation", "id": "o", "status": "final", "code": code,
            "valueQuantity": {"value": value, **quantity}}  # fmt: skip


def test_resolution_accepts_names_aliases_analytes_and_ucum_aliases() -> None:
    hints = resolve_hints({"Condition": "ICD-10-GM", "medication_request": "atc"}, {"glucose": "mmol/l"})
    assert hints.systems == {"Condition": ICD10GM, "MedicationRequest": "http://www.whocc.no/atc"}
    assert hints.units["2345-7"] == "mmol/L" and len(hints.units) > 1  # every LOINC code measuring glucose
    assert not resolve_hints({}, {})
    with pytest.raises(HintError, match=r"^coding\.condition: unknown code system"):
        resolve_hints({"condition": "nonsense"}, {})


def test_a_system_hint_fills_only_codings_without_a_system(normalizer: Normalizer) -> None:
    hints = resolve_hints({"condition": "icd-10-gm"}, {})
    stats = CoverageStats()
    resource = condition({"code": "E11.9"}, {"system": SNOMED, "code": "44054006"}, {"display": "no code"})
    normalizer.normalize(resource, stats, hints)
    assert [c.get("system") for c in resource["code"]["coding"]] == [ICD10GM, SNOMED, None]
    assert stats.to_dict()["hints"] == {"systems_filled": 1, "units_filled": 0}
    assert stats.standard["Condition"] == 1  # the filled coding now counts as a standard code


def test_a_unit_hint_fills_unitless_lab_values_which_are_then_converted(normalizer: Normalizer) -> None:
    hints = resolve_hints({}, {"glucose": "mmol/L"})
    stats = CoverageStats()
    unitless, stated = glucose(5.5), glucose(99.0, unit="mg/dL", system=UCUM, code="mg/dL")
    for resource in (unitless, stated):
        normalizer.normalize(resource, stats, hints)
    assert unitless["code"]["coding"][0]["system"] == LOINC
    assert unitless["valueQuantity"] == {"value": 99.0858, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}
    assert stated["valueQuantity"]["value"] == 99.0  # a stated unit is never overridden
    assert stats.hinted["unit"] == 1 and stats.units["converted"] == 1


def test_the_fhir_stage_applies_a_sources_hints(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Condition.ndjson").write_text(json.dumps(condition({"code": "E11.9"})) + "\n", encoding="utf-8")
    (folder / "Observation.ndjson").write_text(json.dumps(glucose(5.5)) + "\n", encoding="utf-8")
    source = SourceConfig(id="h", country="DE", format="fhir-ndjson", path=folder, licence="CC0-1.0",
                          coding={"condition": "icd-10-gm"}, units={"2345-7": "mmol/L"})  # fmt: skip
    home = Home(tmp_path / "home")
    result = run_fhir_stage(source, home, workers=1, emit=lambda _: None)
    assert result.valid == 2 and result.coverage["hints"] == {"systems_filled": 1, "units_filled": 1}
    files = output_files(home, "h")
    written = json.loads(files["Condition"].read_text())
    assert written["code"]["coding"][0]["system"] == ICD10GM
    assert json.loads(files["Observation"].read_text())["valueQuantity"]["code"] == "mg/dL"
