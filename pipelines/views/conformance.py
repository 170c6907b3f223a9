"""Run SQL-on-FHIR v2 test files (tests/*.json of the shared suite) and write the suite's report format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from fhirmony.views.compiled import load_view
from fhirmony.views.errors import EvaluationError, ViewDefinitionError

Report = dict[str, dict[str, list[dict]]]


def _canonical(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _key(row: dict) -> str:
    return json.dumps(_canonical(row), sort_keys=True, default=str)


def _compare_rows(actual: list[dict], expected: list[dict]) -> str | None:
    """None when equal (as multisets, order not significant), else a short difference."""
    got = sorted(_key(r) for r in actual)
    want = sorted(_key(r) for r in expected)
    if got == want:
        return None
    missing = [w for w in want if w not in got][:3]
    extra = [g for g in got if g not in want][:3]
    return f"rows differ: {len(actual)} vs {len(expected)} expected; missing {missing}; unexpected {extra}"


def run_case(case: dict, resources: list[dict]) -> dict:
    """One test case -> {"passed": bool, "error"?: str}."""
    expect_error = bool(case.get("expectError"))
    try:
        view = load_view(case["view"])
        rows = view.evaluate_rows(resources)
    except (ViewDefinitionError, EvaluationError) as exc:
        if expect_error:
            return {"passed": True}
        return {"passed": False, "error": f"{type(exc).__name__}: {exc}"}
    if expect_error:
        return {"passed": False, "error": "expected an error, but the view evaluated"}
    if "expectColumns" in case:
        names = [c.name for c in view.columns]
        if names != case["expectColumns"]:
            return {"passed": False, "error": f"columns {names} != expected {case['expectColumns']}"}
    if "expectCount" in case and len(rows) != case["expectCount"]:
        return {"passed": False, "error": f"{len(rows)} rows, expected {case['expectCount']}"}
    if "expect" in case:
        expected = case["expect"]
        # a view may not emit a column that an expected row lacks; fill absent keys with null
        names = [c.name for c in view.columns]
        expected = [{n: e.get(n) for n in names} if set(e) <= set(names) else e for e in expected]
        difference = _compare_rows(rows, expected)
        if difference:
            return {"passed": False, "error": difference}
    return {"passed": True}


def run_file(path: Path) -> list[dict]:
    suite = json.loads(path.read_text())
    resources = suite.get("resources", [])
    results = []
    for case in suite.get("tests", []):
        try:
            result = run_case(case, resources)
        except Exception as exc:  # a crash in one case is that case's failure, not the run's
            result = {"passed": False, "error": f"internal error: {type(exc).__name__}: {exc}"}
        results.append({"name": case.get("title", "?"), "result": result})
    return results


def run_suite(files: Iterable[Path]) -> Report:
    report: Report = {}
    for path in sorted(files):
        results = run_file(path)
        if results:
            report[path.name] = {"tests": results}
    return report


def test_files(directory: Path) -> list[Path]:
    """The test files of a directory (or of the tests/ folder of a suite checkout): JSON files
    with a `tests` list; other JSON (schemas, reports) is ignored."""
    if (directory / "tests").is_dir():
        directory = directory / "tests"
    files = []
    for path in sorted(directory.glob("*.json")):
        try:
            content = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(content, dict) and isinstance(content.get("tests"), list):
            files.append(path)
    return files


def summarize(report: Report) -> tuple[int, int]:
    results = [t["result"]["passed"] for suite in report.values() for t in suite["tests"]]
    return sum(results), len(results)
