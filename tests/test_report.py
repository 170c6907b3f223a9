"""The steward report: content from results, manifest, quarantine and data; tolerant inputs;
rendered in headless Chromium without console errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_quality_fixtures import encounters, observations, patients

from fhirmony.quality import run_release_checks, run_table_checks, write_report, write_results
from fhirmony.quality.report_data import quarantine_rows

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def make_release(folder: Path, *, with_defects: bool = True) -> Path:
    tables = {"patient": patients(), "encounter": encounters(), "observation": observations()}
    if not with_defects:
        tables["observation"] = tables["observation"].slice(0, 2)
    related = {"patient": tables["patient"], "encounter": tables["encounter"]}
    results = []
    for name, table in tables.items():
        results += run_table_checks(name, table, source_id="src", country="DE", related=related)
        part = folder / "data" / name / "country=DE"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.drop_columns(["country"]), part / "part-0.parquet")
    results += run_release_checks(folder / "data")
    write_results(folder, results)
    manifest = {
        "id": folder.name,
        "sources": [
            {"id": "src", "country": "DE", "quarantined": {"bad birthDate": 3, "unknown code system": 2}},
            {"id": "other", "country": "FR", "quarantined": 7, "mapping_coverage": {"codes_mapped_share": 0.93}},
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    sample = {"file": "Bundle-1.json", "line": 7, "detail": "entry[3]"}
    entry = {
        "source_id": "src",
        "stage": "fhir",
        "reason": "Observation.status missing",
        "count": 4,
        "samples": [sample],
    }
    details = {"entries": [entry]}
    (folder / "quality" / "quarantine.json").write_text(json.dumps(details))
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("releases")
    previous = make_release(root / "r1", with_defects=False)
    current = make_release(root / "r2")
    return write_report(current, previous)


def test_report_is_one_self_contained_file(report: Path) -> None:
    html = report.read_text()
    assert report == report.parent.parent / "quality" / "report.html"
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "@import" not in html
    assert html.count("<svg") > 5 and "<script>" in html and "<style>" in html


def test_report_puts_failures_first_with_severity(report: Path) -> None:
    html = report.read_text()
    failures = html[html.index('id="failures"') : html.index('id="comparison"')]
    assert "Blocked:" in html
    assert "is_primary_key:observation.id" in failures and "badge fatal" in failures
    assert failures.index("badge fatal") < failures.index("badge convention")
    assert "is_required:observation.effective" not in failures  # passed
    assert "o3" in failures  # sample ids in the drill-down


def test_report_sections_from_manifest_quarantine_and_data(report: Path) -> None:
    html = report.read_text()
    for text in ("Observation.status missing", "Bundle-1.json:7", "(total)", "codes_mapped_share"):
        assert text in html
    assert "bad birthDate" not in html  # quarantine.json details replace the manifest's counts of src
    for dimension in ("completeness", "uniqueness", "accuracy", "validity", "timeliness", "consistency"):
        assert f"<td>{dimension}</td>" in html
    assert "missing values in observation" in html
    assert "Glucose SerPl (LOINC 2345-7)" in html  # key lab chart
    coverage = html[html.index('id="time"') :]
    assert (
        "<td>observation</td><td>effective_datetime</td><td>DE</td><td>1979-01-01</td><td>2099-01-01</td>" in coverage
    )
    comparison = html[html.index('id="comparison"') : html.index('id="quarantine"')]
    assert re.search(r"<b>(\d+)</b><span>new</span>", comparison)
    assert "plausible_value_range:observation.value[2345-7]" in comparison


def test_report_without_inputs_still_renders(tmp_path: Path) -> None:
    out = write_report(tmp_path / "empty")
    html = out.read_text()
    assert "No check results found" in html and "No release data found" in html


def test_quarantine_inputs_in_several_shapes() -> None:
    manifest = {"sources": [{"id": "a", "quarantined": [{"reason": "x", "count": 2}]}, {"id": "b", "quarantined": 5}]}
    details = {"sources": {"c": {"y": 1, "z": 4}}}
    rows = quarantine_rows(manifest, details)
    assert {(r["source_id"], r["reason"], r["count"]) for r in rows} == {
        ("a", "x", 2),
        ("b", "(total)", 5),
        ("c", "y", 1),
        ("c", "z", 4),
    }
    assert quarantine_rows(None, None) == []
    release_writer = {"a": [{"stage": "fhir", "resource_type": "Patient", "reason": "bad date", "count": 3}]}
    manifest = {
        "sources": [{"id": "a", "quarantined": 9}, {"id": "b", "quarantined": 4, "quarantine_reasons": {"r": 4}}]
    }
    rows = quarantine_rows(manifest, release_writer)
    assert {(r["source_id"], r["reason"], r["count"]) for r in rows} == {("a", "bad date", 3), ("b", "r", 4)}
    assert quarantine_rows({"sources": "nonsense"}, ["nonsense"]) == []


def chromium_or_skip() -> None:
    from fhirmony.quality.browser import find_chromium

    if find_chromium() is None:
        if IN_CI:
            pytest.fail("chromium is required in CI (apt-get install -y chromium chromium-driver)")
        pytest.skip("/usr/bin/chromium is absent: apt-get install -y chromium chromium-driver (required when CI=true)")


def test_report_renders_in_chromium_without_console_errors(report: Path) -> None:
    chromium_or_skip()
    from fhirmony.quality.browser import load

    page = load(report)
    assert page.console == []
    shown = re.search(r'<span id="shown">(\d+) of (\d+) shown</span>', page.dom)
    assert shown and shown.group(1) == shown.group(2) != "0"  # the filter script ran


def test_chromium_console_errors_are_caught(tmp_path: Path) -> None:
    chromium_or_skip()
    from fhirmony.quality.browser import load

    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    assert any("undefinedFunction" in message for message in load(broken).console)


def test_screenshot_writes_a_png(report: Path, tmp_path: Path) -> None:
    chromium_or_skip()
    from fhirmony.quality.browser import screenshot

    png = screenshot(report, tmp_path / "report.png", width=800, height=600)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_counts_failures_by_check_type(report: Path) -> None:
    html = report.read_text()
    section = html[html.index('id="types"') : html.index('id="failures"')]
    row = re.search(r"<td>is_primary_key</td><td>conformance</td><td>(\d+)</td><td>.*?>(\d+)</span>", section)
    assert row and int(row.group(2)) >= 1


def test_screenshot_command_on_a_sample_release(tmp_path: Path) -> None:
    chromium_or_skip()
    from fhirmony.quality.browser import main

    png = tmp_path / "shot.png"
    assert main(["--sample", "--workdir", str(tmp_path / "work"), "-o", str(png)]) == 0  # non-zero on console output
    assert png.read_bytes()[:4] == b"\x89PNG"
