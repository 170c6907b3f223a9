"""End to end on the real FHIR sources in ../shared/data: Dagster runs to a verified release."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fhirmony.config import load_config
from fhirmony.home import Home
from fhirmony.privacy import identifying_strings, scan_release
from fhirmony.publish.release import connect_catalog, verify_manifest
from fhirmony.quarantine import read_quarantine
from fhirmony.runner import format_summary, run_pipeline
from tests.conftest import shared_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Path]:
    data = shared_path("data")
    root = tmp_path_factory.mktemp("real")
    config_path = root / "fhirmony.yaml"
    config_path.write_text(
        f"""
release: {{name: real-sources, version: "0.1.0", publisher: fhirmony tests}}
privacy: {{profile: gdpr-pseudonymised, key_env: FHIRMONY_TEST_KEY}}
sources:
  - {{id: us-synthea-bulk, country: US, format: fhir-ndjson, path: {data}/synthea-bulk-ndjson-10, licence: CC0-1.0}}
  - {{id: us-synthea-bundles, country: US, format: fhir-bundle, path: {data}/synthea-r4-bundles, licence: Apache-2.0}}
  - {{id: de-mii, country: DE, format: fhir-bundle, path: {data}/mii-kds-testdata-de, licence: CC0-1.0}}
  - {{id: us-mimic-demo, country: US, format: mimic-iv, path: {data}/mimic-iv-demo-2.2, licence: ODbL-1.0,
      name: MIMIC-IV Clinical Database Demo 2.2}}
  - {{id: us-synthea-csv, country: US, format: synthea-csv, path: {data}/synthea-csv-107, licence: Apache-2.0}}
  - {{id: us-eunomia-omop, country: US, format: omop-cdm, path: {data}/eunomia-synthea27nj-omop/Synthea27Nj_5.4.zip,
      licence: Apache-2.0}}
""",
        encoding="utf-8",
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("FHIRMONY_TEST_KEY", "test-key-not-secret-0123456789abcdef")
    home = Home(root / "home")
    try:
        summary = run_pipeline(load_config(config_path), home, emit=lambda _: None)
    finally:
        mp.undo()
    assert summary.success, format_summary(summary) + f"\n{summary.release_error}"
    assert summary.release_path is not None
    return home, summary.release_path


def test_release_checksums_verify(released: tuple[Home, Path]) -> None:
    _, release = released
    assert verify_manifest(release) == []
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    paths = {entry["path"] for entry in manifest["files"]}
    assert {"catalog.duckdb", "datasheet.md", "quality/results.json"} <= paths
    assert any(p.startswith("data/patient/country=DE/") for p in paths)
    assert any(p.startswith("data/patient/country=US/") for p in paths)


def test_a_release_with_mimic_is_odbl(released: tuple[Home, Path]) -> None:
    _, release = released
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    assert manifest["licence"] == "ODbL-1.0"
    assert "PhysioNet" in manifest["attribution"]


def test_counts_reconcile_per_source_and_type(released: tuple[Home, Path]) -> None:
    home, release = released
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    for source in manifest["sources"]:
        for resource_type, counts in source["counts"]["by_type"].items():
            assert counts["read"] == counts["valid"] + counts["quarantined"], (source["id"], resource_type)
        quarantined = read_quarantine(home.quarantine(source["id"]) / "fhir.ndjson")
        assert len(quarantined) == source["counts"]["quarantined"]


def test_known_facts_of_the_sources(released: tuple[Home, Path]) -> None:
    _, release = released
    con = connect_catalog(release)
    try:
        patients = dict(con.execute("SELECT source_id, count(*) FROM patient GROUP BY 1").fetchall())
        assert patients["us-synthea-bulk"] == 13
        assert patients["us-synthea-bundles"] == 8
        assert patients["de-mii"] > 0
        assert patients["us-mimic-demo"] == 100
        assert patients["us-synthea-csv"] == 107
        assert patients["us-eunomia-omop"] == 28
        admissions = con.execute("SELECT count(*) FROM encounter WHERE source_id = 'us-mimic-demo'").fetchone()[0]
        assert admissions == 275
        icd9, mapped = con.execute(
            "SELECT count(*), count(code_icd10cm) FROM condition WHERE source_id = 'us-mimic-demo' "
            "AND code_system = 'http://hl7.org/fhir/sid/icd-9-cm'"
        ).fetchone()
        assert icd9 == 2193 and mapped / icd9 > 0.95  # ICD-9-CM mapped to ICD-10-CM through the GEM
        observations = dict(con.execute("SELECT source_id, count(*) FROM observation GROUP BY 1").fetchall())
        assert observations["us-synthea-bundles"] >= 364
        splits = {row[0] for row in con.execute("SELECT DISTINCT split FROM patient").fetchall()}
        assert splits <= {"train", "validation", "test"}
    finally:
        con.close()


def test_release_has_no_source_identifiers(released: tuple[Home, Path]) -> None:
    """Ids, names, addresses, telecoms and file names of the sources (Synthea bundle files are named
    after their patients) appear nowhere in the release."""
    home, release = released
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    resources = []
    file_names = []
    for source in manifest["sources"]:
        landing = orjson.loads((home.stage("landing", source["id"]) / "manifest.json").read_bytes())
        file_names += [entry["path"] for entry in landing["files"]]
        for path in sorted(home.stage("fhir", source["id"]).glob("*.ndjson")):
            resources += [orjson.loads(line) for line in path.read_bytes().splitlines()]
    # Short numbers (OMOP and MIMIC row ids such as "1534") cannot be told from counts and sizes;
    # MIMIC's 8-digit subject and admission ids are scanned.
    forbidden = {v for v in identifying_strings(resources, file_names) if not (v.isdigit() and len(v) < 8)}
    assert any("Hershel" in value for value in forbidden)  # the scan knows the names it must not find
    # MII test patients are named after clinical terms ("Gleason", "Gewebe"): words of code displays
    # are terminology, not identifiers. "Johnson" is the PhysioNet citation's first author.
    terminology = {word for resource in resources for word in display_words(resource)}
    leaks = scan_release(release, forbidden, ignore={"Johnson", *terminology})
    assert leaks == [], leaks[:5]


def display_words(node: object) -> set[str]:
    """Every word of every `display` in a resource (code displays, which releases keep)."""
    words: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "display" and isinstance(value, str):
                words.update(value.replace(",", " ").replace("(", " ").replace(")", " ").split())
            else:
                words |= display_words(value)
    elif isinstance(node, list):
        for item in node:
            words |= display_words(item)
    return words
