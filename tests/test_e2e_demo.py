"""End to end on the embedded demo: four synthetic countries through Dagster to a verified release."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fhirmony.cli import main
from fhirmony.config import load_config
from fhirmony.embedded_demo import ensure_demo
from fhirmony.home import Home
from fhirmony.publish.release import connect_catalog, list_releases, verify_manifest
from fhirmony.quarantine import read_quarantine
from fhirmony.runner import format_summary, run_pipeline

pytestmark = pytest.mark.e2e
PATIENTS = 60


@pytest.fixture(scope="module")
def demo_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Path, dict]:
    home = Home(tmp_path_factory.mktemp("demo") / "home")
    config_path = ensure_demo(home, patients=PATIENTS, seed=7)
    truth = orjson.loads((config_path.parent / "truth.json").read_bytes())
    summary = run_pipeline(load_config(config_path), home, emit=lambda _: None)
    assert summary.success, format_summary(summary) + f"\n{summary.release_error}"
    assert summary.release_path is not None
    return home, summary.release_path, truth


def test_manifest_checksums_verify(demo_release: tuple[Home, Path, dict]) -> None:
    _, release, _ = demo_release
    assert verify_manifest(release) == []
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    assert {s["country"] for s in manifest["sources"]} == {"US", "DE", "ES", "NO"}
    for table in ("patient", "encounter", "condition", "observation"):
        assert manifest["tables"][table]["rows"] > 0, table
        assert set(manifest["tables"][table]["rows_by_country"]) == {"US", "DE", "ES", "NO"}


def test_quarantine_matches_the_injected_defects(demo_release: tuple[Home, Path, dict]) -> None:
    home, release, truth = demo_release
    manifest = orjson.loads((release / "manifest.json").read_bytes())
    for source in manifest["sources"]:
        expected = truth["sources"][source["id"]]
        by_type = source["counts"]["by_type"]
        quarantined = {t: c["quarantined"] for t, c in by_type.items() if c["quarantined"]}
        assert quarantined == expected["expected_quarantined"], source["id"]
        for resource_type, counts in by_type.items():
            assert counts["read"] == counts["valid"] + counts["quarantined"], (source["id"], resource_type)
            assert counts["read"] == expected["records"][resource_type], (source["id"], resource_type)
        rejected = read_quarantine(home.quarantine(source["id"]) / "fhir.ndjson")
        assert all(r["file"] and r["line"] >= 1 and r["reason"] for r in rejected)
        places = {
            (w["file"], w["line"])
            for defect in expected["defects"].values()
            if defect["stage"] == "quarantine"
            for w in defect["where"]
        }
        assert {(r["file"], r["line"]) for r in rejected} == places, source["id"]


def test_every_patient_table_row_has_provenance_and_split(demo_release: tuple[Home, Path, dict]) -> None:
    _, release, _ = demo_release
    con = connect_catalog(release)
    try:
        for table in ("patient", "encounter", "condition", "observation"):
            missing = con.execute(
                f"SELECT count(*) FROM {table} WHERE source_id IS NULL OR country IS NULL OR patient_id IS NULL "
                "OR split NOT IN ('train', 'validation', 'test')"
            ).fetchone()[0]
            assert missing == 0, table
        spanning = con.execute(
            "SELECT count(*) FROM (SELECT patient_id FROM observation GROUP BY 1 HAVING count(DISTINCT split) > 1)"
        ).fetchone()[0]
        assert spanning == 0
    finally:
        con.close()


def test_cli_lists_and_queries_the_release(
    demo_release: tuple[Home, Path, dict], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, release, _ = demo_release
    monkeypatch.setenv("FHIRMONY_HOME", str(home.root))
    assert [r["id"] for r in list_releases(home)] == [release.name]
    assert main(["releases"]) == 0
    assert release.name in capsys.readouterr().out
    assert (
        main(
            [
                "query",
                "SELECT country, count(*) AS n FROM patient GROUP BY 1 ORDER BY 1",
                "--format",
                "csv",
                "--release",
                release.name,
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].replace('"', "") == "country,n"
    assert [line.split(",")[0].strip('"') for line in lines[1:]] == ["DE", "ES", "NO", "US"]
    assert main(["verify", release.name]) == 0
