"""Mapping coverage on the real sources: what share of codes is standard, ICD-9 mapping, unit handling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhirmony.config import SourceConfig
from fhirmony.sources import reader_for
from fhirmony.terminology import CoverageStats, Normalizer
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.from_environment(crosswalk=shared_path("data", "icd-cm-crosswalk"))


def coverage(normalizer: Normalizer, fmt: str, path: Path, **options: Any) -> dict[str, Any]:
    stats = CoverageStats()
    source = SourceConfig(id="cov", country="US", format=fmt, path=path, licence="test", options=options)
    for record in reader_for(source).records():
        assert record.resource is not None, record.error
        normalizer.normalize(record.resource, stats)
    return stats.to_dict()


def test_mimic_icd9_diagnoses_map_to_icd10cm(normalizer: Normalizer) -> None:
    report = coverage(normalizer, "mimic-iv", shared_path("data", "mimic-iv-demo-2.2"), tables=["diagnoses_icd"])
    icd9 = report["icd9_to_icd10cm"]
    assert icd9["total"] == 2193 and icd9["mapped"] == 2163  # 30 E-codes and 707.2x have no GEM target
    assert report["codes"]["by_resource_type"]["Condition"]["share"] == 1.0


def test_mimic_labs_units_and_loinc_share(normalizer: Normalizer) -> None:
    report = coverage(normalizer, "mimic-iv", shared_path("data", "mimic-iv-demo-2.2"), tables=["labevents"])
    assert report["codes"]["standard_share"] > 0.79  # itemids with a curated LOINC code
    units = report["units"]
    assert units["ucum_share"] > 0.98  # 1,315 lab values in "units" stay non-UCUM
    assert units["aliases"]["mEq/L -> meq/L"] > 10_000
    assert units["conversions"]["2823-3: meq/L -> mmol/L"] == 3019  # potassium to its canonical unit
    assert units["conversions"]["1742-6: [IU]/L -> U/L"] > 1000  # ALT: IU is the enzyme unit


def test_omop_and_mii_are_standard_coded(normalizer: Normalizer) -> None:
    omop = coverage(normalizer, "omop-cdm", shared_path("data", "eunomia-synthea27nj-omop", "Synthea27Nj_5.4.zip"))
    assert omop["codes"]["standard_share"] == 1.0 and omop["units"]["ucum_share"] == 1.0
    mii = coverage(normalizer, "fhir-bundle", shared_path("data", "mii-kds-testdata-de"))
    systems = mii["codes"]["systems"]
    for uri in ("http://fhir.de/CodeSystem/bfarm/icd-10-gm", "http://fhir.de/CodeSystem/bfarm/ops", "http://loinc.org"):
        assert systems.get(uri, 0) > 0, uri
    assert mii["codes"]["standard_share"] > 0.95


def test_synthea_csv_reports_its_own_measures_as_unmapped(normalizer: Normalizer) -> None:
    report = coverage(normalizer, "synthea-csv", shared_path("data", "synthea-csv-107"))
    unmapped = {entry["code"] for entry in report["codes"]["top_unmapped"]}
    assert {"QALY", "DALY", "QOLS"} <= unmapped
    assert report["codes"]["by_resource_type"]["Condition"]["share"] == 1.0
