"""End to end: every quality-stage defect the demo generator injects is found by the catalogue,
with the exact count in its truth.json (quarantine-stage defects are the fhir stage's concern)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from fhirmony.config import load_config
from fhirmony.embedded_demo import ensure_demo
from fhirmony.home import Home
from fhirmony.privacy import load_profile
from fhirmony.quality import fatal_failures, run_release_checks, run_table_checks
from fhirmony.runner import run_pipeline
from fhirmony.stages.deidentified import STAGE as DEIDENTIFIED

pytestmark = pytest.mark.e2e
PATIENTS = 40

Result = dict[str, Any]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Result]], dict[str, Any], Path]:
    """The demo through the pipeline; the catalogue then runs on each source's de-identified tables
    with the privacy profile's date shift (the tolerance no_future_dates needs on shifted dates)."""
    home = Home(tmp_path_factory.mktemp("quality-demo") / "home")
    config_path = ensure_demo(home, patients=PATIENTS, seed=11)
    truth = orjson.loads((config_path.parent / "truth.json").read_bytes())
    config = load_config(config_path)
    run_pipeline(config, home, emit=lambda _: None)  # the release may or may not publish: not asserted here
    profile = load_profile(config.privacy.profile)
    shift = profile.max_shift_days if profile.dates == "shift" else 0
    results: dict[str, list[Result]] = {}
    data = home.root / "release-data"
    for source in config.sources:
        folder = home.stage(DEIDENTIFIED, source.id)
        tables = {path.stem: pq.read_table(path) for path in sorted(folder.glob("*.parquet"))}
        for name, table in tables.items():  # the release layout, for the release-wide checks
            part = data / name / f"country={source.country}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.drop_columns(["country"]), part / f"part-{source.id}.parquet")
        assert tables, f"{source.id}: no de-identified tables in {folder}"
        results[source.id] = [
            r.to_dict()
            for name, table in tables.items()
            for r in run_table_checks(
                name, table, source_id=source.id, country=source.country, related=tables, date_shift_days=shift
            )
        ]
    return results, truth, data


def flagged(results: list[Result], chosen: Callable[[Result], bool], distinct: bool) -> int:
    """Rows flagged by the chosen checks: summed, or (when one row can fail several checks, e.g.
    a future encounter fails start and end) distinct ids from complete samples."""
    chosen_results = [r for r in results if chosen(r) and r["violating"]]
    if not distinct:
        return sum(r["violating"] for r in chosen_results)
    assert all(r["violating"] <= len(r["sample"]) for r in chosen_results), "samples must be complete"
    return len({(r["table"], x) for r in chosen_results for x in r["sample"]})


# defect kind → (the checks that must flag it, whether one row can fail several of them)
FINDERS: dict[str, tuple[Callable[[Result], bool], bool]] = {
    "invalid_code": (lambda r: r["check"] == "code_format", False),
    "out_of_range": (lambda r: r["check"] == "plausible_value_range", False),
    "future_date": (lambda r: r["check"] == "no_future_dates", True),
    "missing_patient": (lambda r: r["check"] == "is_foreign_key" and r["field"] == "patient_id", False),
    "missing_value": (lambda r: r["check"] == "is_required" and r["table"] == "patient", True),
    "unmapped_concept": (
        lambda r: r["check"] in ("is_required", "standard_code_completeness") and r["field"] in ("code", "system"),
        True,
    ),
}


def test_every_injected_quality_defect_is_found(demo: tuple[dict[str, list[Result]], dict[str, Any], Path]) -> None:
    results, truth, _ = demo
    checked = 0
    for source_id, source in truth["sources"].items():
        assert results[source_id], f"no quality results for {source_id}"
        for kind, defect in source["defects"].items():
            if defect["stage"] != "quality":
                continue
            assert kind in FINDERS, f"no check is mapped to the demo's defect kind {kind}"
            chosen, distinct = FINDERS[kind]
            assert flagged(results[source_id], chosen, distinct) == defect["count"], (source_id, kind)
            checked += 1
    assert checked >= 10


def test_no_errors_and_no_fatal_failures_on_the_demo(
    demo: tuple[dict[str, list[Result]], dict[str, Any], Path],
) -> None:
    results, _, data = demo
    for source_id, rows in results.items():
        assert [r["check_id"] for r in rows if r["status"] == "error"] == [], source_id
        assert [r["check_id"] for r in rows if r["status"] == "failed" and r["severity"] == "fatal"] == [], source_id
    release = run_release_checks(data)
    assert release and [r.check_id for r in release if r.status == "error"] == []
    assert [r.check_id for r in fatal_failures(release)] == []
    splits = {r.status for r in release if r.check == "single_split"}
    assert "passed" in splits and "failed" not in splits
