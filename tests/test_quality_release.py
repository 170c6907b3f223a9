"""Release-wide checks over hive-partitioned Parquet, thresholds re-applied, release comparison."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fhirmony.quality import (
    CheckResult,
    apply_thresholds,
    compare_results,
    fatal_failures,
    read_results,
    run_release_checks,
    write_results,
)


def write_part(data: Path, table: str, country: str, rows: dict) -> None:
    folder = data / table / f"country={country}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), folder / "part-0.parquet")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """Two countries; id p2 used by both; patient p3 in two splits; an orphan observation."""
    data = tmp_path / "rel" / "data"
    write_part(data, "patient", "DE", {"id": ["p1", "p2"], "patient_id": ["p1", "p2"], "split": ["train", "test"]})
    write_part(data, "patient", "FR", {"id": ["p2", "p3"], "patient_id": ["p2", "p3"], "split": ["test", "train"]})
    write_part(
        data,
        "observation",
        "DE",
        {"id": ["o1", "o2", "o3"], "patient_id": ["p1", "p3", "p3"], "split": ["train", "validation", "train"]},
    )
    write_part(data, "observation", "FR", {"id": ["o4"], "patient_id": ["p404"], "split": ["test"]})
    return tmp_path / "rel"


def test_release_checks_find_cross_source_defects(release: Path) -> None:
    results = {r.check_id: r for r in run_release_checks(release / "data")}
    pk = results["release_primary_key:patient.id"]
    assert (pk.status, pk.violating, pk.total, pk.sample) == ("failed", 2, 4, ["p2"])
    fk = results["release_foreign_key:observation.patient_id"]
    assert (fk.status, fk.violating, fk.total, fk.sample) == ("failed", 1, 4, ["o4"])
    split = results["single_split:observation.patient_id"]
    assert (split.status, split.violating, split.total, split.sample) == ("failed", 2, 4, ["p3"])
    assert results["single_split:patient.patient_id"].status == "passed"
    assert results["release_primary_key:observation.id"].status == "passed"
    assert results["release_primary_key:encounter.id"].status == "not_applicable"
    assert all(r.engine == "duckdb" and r.source_id == "*" for r in results.values())
    assert {r.check_id for r in fatal_failures(results.values())} >= {"release_primary_key:patient.id"}


def test_release_checks_accept_the_release_folder(release: Path) -> None:
    by_folder = {r.check_id: r.status for r in run_release_checks(release)}
    assert by_folder["release_primary_key:patient.id"] == "failed"


def result(check_id: str, status: str, violating: int, total: int, threshold: float = 0.0, **kw) -> CheckResult:
    check, rest = check_id.split(":")
    table, field = rest.split(".")
    values = dict(
        check_id=check_id, check=check, table=table, field=field, source_id="s1", country="DE",
        category="conformance", subcategory="value", severity="convention", context="verification",
        status=status, violating=violating, total=total, threshold=threshold,
    )  # fmt: skip
    values.update(kw)
    return CheckResult(**values)


def test_thresholds_are_reapplied_without_running_checks() -> None:
    stored = [
        result("value_set:observation.status", "failed", 5, 100),
        result("value_set:patient.gender", "failed", 5, 100),
        result("is_required:observation.code", "passed", 0, 100),
        result("is_required:observation.status", "error", 0, 0, message="boom"),
    ]
    judged = apply_thresholds(stored, {"value_set:observation": 0.05, "is_required": 0.0})
    assert [r.status for r in judged] == ["passed", "failed", "passed", "error"]
    assert judged[0].threshold == 0.05 and judged[1].threshold == 0.0
    stricter = apply_thresholds(judged, {"value_set:observation.status": 0.01, "value_set": 0.1})
    assert [r.status for r in stricter[:2]] == ["failed", "passed"]
    assert stored[0].status == "failed"  # the input is left unchanged
    with pytest.raises(ValueError, match="share"):
        apply_thresholds(stored, {"value_set": 5})


def test_comparison_with_previous_release(tmp_path: Path) -> None:
    before = [
        result("a:t.f", "failed", 3, 10),
        result("b:t.f", "failed", 3, 10),
        result("c:t.f", "passed", 0, 10),
        result("d:t.f", "failed", 1, 10),
    ]
    now = [result("a:t.f", "failed", 2, 10), result("b:t.f", "passed", 0, 10), result("c:t.f", "failed", 1, 10)]
    write_results(tmp_path / "old", before)
    write_results(tmp_path / "new", now)
    comparison = compare_results(read_results(tmp_path / "new"), read_results(tmp_path / "old"))
    assert [r.check_id for r in comparison.new] == ["c:t.f"]
    assert [(n.check_id, o.violating) for n, o in comparison.persisting] == [("a:t.f", 3)]
    assert [(o.check_id, n.status if n else None) for o, n in comparison.resolved] == [
        ("b:t.f", "passed"),
        ("d:t.f", None),
    ]
    assert comparison.counts() == {"new": 1, "persisting": 1, "resolved": 2}
    other_source = [replace(r, source_id="s2") for r in now]
    assert len(compare_results(other_source, before).new) == 2  # keyed by check and source


def test_results_json_round_trip(tmp_path: Path) -> None:
    stored = [result("a:t.f", "failed", 3, 10, sample=["x1", "x2"], engine="great_expectations")]
    path = write_results(tmp_path, stored)
    assert path == tmp_path / "quality" / "results.json"
    assert read_results(path) == stored
    assert read_results(tmp_path) == stored


def test_command_line_rejudges_and_compares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fhirmony.quality.__main__ import main

    write_results(tmp_path / "old", [result("a:t.f", "failed", 3, 100)])
    write_results(tmp_path / "new", [result("a:t.f", "failed", 3, 100), result("b:t.f", "failed", 1, 10)])
    assert main(["rejudge", str(tmp_path / "new"), "--set", "a=0.05", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "a:t.f [s1]: failed → passed" in out and "after:  1 passed, 1 failed" in out
    assert [r.status for r in read_results(tmp_path / "out")] == ["passed", "failed"]
    assert main(["compare", str(tmp_path / "new"), str(tmp_path / "old")]) == 0
    assert "new        b:t.f [s1] 1/10" in capsys.readouterr().out
    assert main(["catalogue"]) == 0
    assert "24 check types" in capsys.readouterr().out
