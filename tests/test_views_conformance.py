"""The SQL-on-FHIR v2 shared test suite (../shared/conformance) passes in full, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from fhirmony.cli import main


def test_every_conformance_case_passes(conformance_dir: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "test_report.json"
    code = main(["views", "test", str(conformance_dir / "tests"), "--report", str(report_path)])
    report = json.loads(report_path.read_text())
    failures = [
        f"{name}: {case['name']}: {case['result'].get('error')}"
        for name, suite in report.items()
        for case in suite["tests"]
        if not case["result"]["passed"]
    ]
    assert failures == []
    assert code == 0
    assert set(report) == {p.name for p in (conformance_dir / "tests").glob("*.json")}
    import jsonschema

    jsonschema.validate(report, json.loads((conformance_dir / "test-report.schema.json").read_text()))


def test_report_exit_code_is_nonzero_when_a_case_fails(tmp_path: Path) -> None:
    suite = {
        "title": "t",
        "resources": [{"resourceType": "Patient", "id": "p1"}],
        "tests": [
            {"title": "right", "view": {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]},
             "expect": [{"id": "p1"}]},
            {"title": "wrong", "view": {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]},
             "expect": [{"id": "p2"}]},
        ],
    }  # fmt: skip
    (tmp_path / "t.json").write_text(json.dumps(suite))
    report_path = tmp_path / "report.json"
    assert main(["views", "test", str(tmp_path), "--report", str(report_path)]) == 1
    results = json.loads(report_path.read_text())["t.json"]["tests"]
    assert [r["result"]["passed"] for r in results] == [True, False]


def test_specification_example_views_load_and_run(conformance_dir: Path) -> None:
    from fhirmony.views import load_view

    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "name": [{"use": "official", "family": "F", "given": ["A", "B"]}],
        "address": [{"line": ["1 Main St", "Apt 2"], "city": "C", "postalCode": "9"}],
        "contact": [{"address": {"city": "D", "postalCode": "8"}}],
    }
    examples = sorted((conformance_dir / "spec").glob("ViewDefinition-*.json"))
    assert len(examples) >= 8
    for path in examples:
        view = load_view(path)
        if view.resource == "Patient":
            rows = view.evaluate_rows([patient])
            assert rows, view.name
            if view.name == "patient_addresses":
                assert rows[0]["street"] == "1 Main St\nApt 2"
            if view.name == "patient_and_contact_addresses":
                assert {r["is_patient"] for r in rows} == {True, False}
