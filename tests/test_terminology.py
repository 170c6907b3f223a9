"""Terminology: code-system aliases, ICD-9-CM → ICD-10-CM (GEM), UCUM units and conversions, coverage."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from fhirmony.terminology import CoverageStats, IcdCrosswalk, Normalizer, canonical_system
from fhirmony.terminology.icd import dotted_icd9_diagnosis, dotted_icd9_procedure, dotted_icd10
from fhirmony.terminology.systems import ICD9CM, ICD10CM, LOINC, UCUM
from fhirmony.terminology.units import Analyte, Ucum
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.from_environment(crosswalk=shared_path("data", "icd-cm-crosswalk"))


@pytest.fixture(scope="module")
def ucum() -> Ucum:
    return Ucum()


@pytest.mark.parametrize(
    ("alias", "uri"),
    [
        ("ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"),
        ("icd-10-gm", "http://fhir.de/CodeSystem/bfarm/icd-10-gm"),
        ("http://fhir.de/CodeSystem/dimdi/icd-10-gm", "http://fhir.de/CodeSystem/bfarm/icd-10-gm"),
        ("ICD-10", "http://hl7.org/fhir/sid/icd-10"),
        ("ICD9Proc", "http://hl7.org/fhir/sid/icd-9-cm"),
        ("SNOMED", "http://snomed.info/sct"),
        ("urn:oid:2.16.840.1.113883.6.96", "http://snomed.info/sct"),
        ("LOINC", "http://loinc.org"),
        ("https://loinc.org/", "http://loinc.org"),
        ("ATC", "http://www.whocc.no/atc"),
        ("RxNorm", "http://www.nlm.nih.gov/research/umls/rxnorm"),
        ("OPS", "http://fhir.de/CodeSystem/bfarm/ops"),
        ("CVX", "http://hl7.org/fhir/sid/cvx"),
        ("http://example.org/local", "http://example.org/local"),
    ],
)
def test_canonical_system(alias: str, uri: str) -> None:
    assert canonical_system(alias) == uri


def test_icd_dotted_forms() -> None:
    assert dotted_icd10("I2510") == "I25.10"
    assert dotted_icd10("A09") == "A09"
    assert dotted_icd9_diagnosis("4139") == "413.9"
    assert dotted_icd9_diagnosis("E8889") == "E888.9"
    assert dotted_icd9_diagnosis("V707") == "V70.7"
    assert dotted_icd9_procedure("3961") == "39.61"


def test_gem_from_shared_data() -> None:
    gem = IcdCrosswalk.load(shared_path("data", "icd-cm-crosswalk"))
    cholera = gem.map_icd9("001.0")
    assert cholera is not None and cholera.code == "A00.0" and not cholera.approximate
    assert len(gem.targets) > 14_000
    assert gem.display("A000") == "Cholera due to Vibrio cholerae 01, biovar cholerae"


def test_icd9_condition_gets_icd10cm_coding_beside_the_original(normalizer: Normalizer) -> None:
    stats = CoverageStats()
    condition = {"resourceType": "Condition", "code": {"coding": [{"system": "ICD9CM", "code": "413.9"}]}}
    normalizer.normalize(condition, stats)
    original, mapped = condition["code"]["coding"]
    assert original == {"system": ICD9CM, "code": "413.9"}
    assert mapped["system"] == ICD10CM and mapped["code"] == "I20.8"
    assert mapped["extension"][0]["valueCode"] == "approximate"
    assert stats.to_dict()["icd9_to_icd10cm"]["mapped"] == 1


def test_icd9_without_gem_is_counted_not_mapped() -> None:
    normalizer = Normalizer.from_environment()
    normalizer.crosswalk = None
    stats = CoverageStats()
    condition = {"resourceType": "Condition", "code": {"coding": [{"system": ICD9CM, "code": "413.9"}]}}
    normalizer.normalize(condition, stats)
    assert len(condition["code"]["coding"]) == 1
    assert stats.icd9["no_gem"] == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("mg/dL", "mg/dL"),
        ("mEq/L", "meq/L"),
        ("K/uL", "10*3/uL"),
        ("mm Hg", "mm[Hg]"),
        ("10*3/uL", "10*3/uL"),
        ("%", "%"),
        ("{score}", "{score}"),
        ("mg/dl", "mg/dL"),
        ("kg/m2", "kg/m2"),
        ("not a unit", None),
    ],
)
def test_ucum_codes(ucum: Ucum, text: str, code: str | None) -> None:
    assert ucum.code(text) == code


@pytest.mark.parametrize(
    ("source", "target", "analyte", "one"),
    [
        ("mmol/L", "mg/dL", Analyte(180.156), 18.0156),  # glucose
        ("umol/L", "mg/dL", Analyte(113.118), 0.0113118),  # creatinine
        ("meq/L", "mmol/L", Analyte(40.078, 2), 0.5),  # calcium: 2 eq per mol
        ("g/L", "g/dL", None, 0.1),
        ("[lb_av]", "kg", None, 0.45359237),
        ("10*9/L", "10*3/uL", None, 1.0),
    ],
)
def test_conversions(ucum: Ucum, source: str, target: str, analyte: Analyte | None, one: float) -> None:
    conversion = ucum.conversion(source, target, analyte)
    assert conversion is not None and conversion(1.0) == pytest.approx(one, rel=1e-6)


def test_temperature_and_incommensurable(ucum: Ucum) -> None:
    fahrenheit = ucum.conversion("[degF]", "Cel")
    assert fahrenheit is not None and fahrenheit(98.6) == pytest.approx(37.0)
    assert ucum.conversion("mg/dL", "mmol/L") is None  # no molar mass, no conversion


def _glucose(value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "code": {"coding": [{"system": "LOINC", "code": "2345-7"}]},
        "valueQuantity": {"value": value, "unit": unit},
        "referenceRange": [{"low": {"value": 3.9, "unit": unit, "system": UCUM, "code": unit}}],
    }


def test_observation_converted_to_canonical_unit(normalizer: Normalizer) -> None:
    stats = CoverageStats()
    observation = normalizer.normalize(_glucose(5.5, "mmol/L"), stats)
    assert observation["code"]["coding"][0]["system"] == LOINC
    assert observation["valueQuantity"] == {"value": 99.0858, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"}
    assert observation["referenceRange"][0]["low"]["value"] == pytest.approx(70.2608)
    assert stats.conversions["2345-7: mmol/L -> mg/dL"] == 1


def test_not_ucum_unit_keeps_its_text_and_is_counted(normalizer: Normalizer) -> None:
    stats = CoverageStats()
    observation = normalizer.normalize(_glucose(5.5, "millimoles"), stats)
    assert observation["valueQuantity"] == {"value": 5.5, "unit": "millimoles"}
    assert observation["referenceRange"][0]["low"] == {"value": 3.9, "unit": "millimoles"}  # no false UCUM claim
    assert stats.not_ucum["millimoles"] == 2


def test_coverage_counts_standard_and_unmapped(normalizer: Normalizer) -> None:
    stats, other = CoverageStats(), CoverageStats()
    normalizer.normalize({"resourceType": "Procedure", "code": {"coding": [{"system": "SNOMED", "code": "1"}]}}, stats)
    normalizer.normalize(
        {"resourceType": "Procedure", "code": {"coding": [{"system": "urn:local", "code": "X", "display": "x"}]}}, other
    )
    report = stats.merge(other).to_dict()
    assert report["codes"]["total"] == 2 and report["codes"]["standard_share"] == 0.5
    assert report["codes"]["top_unmapped"] == [{"system": "urn:local", "code": "X", "display": "x", "count": 1}]


def test_normalizer_pickles_with_its_unit_cache(normalizer: Normalizer) -> None:
    normalizer.normalize(_glucose(5.5, "mmol/L"), CoverageStats())
    clone = pickle.loads(pickle.dumps(normalizer))
    assert clone.ucum.codes["mmol/L"] == "mmol/L"
    assert clone.normalize(_glucose(5.5, "mmol/L"), CoverageStats())["valueQuantity"]["value"] == 99.0858


def test_enzyme_activity_in_international_units_is_the_enzyme_unit(normalizer: Normalizer) -> None:
    stats = CoverageStats()
    alt = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": LOINC, "code": "1742-6"}]},
        "valueQuantity": {"value": 35, "unit": "IU/L"},
    }
    assert normalizer.normalize(alt, stats)["valueQuantity"] == {
        "value": 35,
        "unit": "U/L",
        "system": UCUM,
        "code": "U/L",
    }
    assert stats.conversions["1742-6: [IU]/L -> U/L"] == 1
    assert normalizer.ucum.conversion("[IU]/L", "U/L") is None  # only where the LOINC code says enzyme


def test_quantity_code_without_system_is_checked_as_ucum(normalizer: Normalizer) -> None:
    stats = CoverageStats()
    resource = {
        "resourceType": "MedicationRequest",
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 2, "code": "mg"}}]}],
        "dispenseRequest": {"quantity": {"value": 30, "unit": "tablets", "code": "TAB"}},
    }
    normalizer.normalize(resource, stats)
    assert resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] == {
        "value": 2,
        "code": "mg",
        "system": UCUM,
        "unit": "mg",
    }
    assert resource["dispenseRequest"]["quantity"] == {"value": 30, "unit": "tablets"}  # not UCUM: no code
