"""All Dagster definitions load, and the asset graph has the expected shape (a snapshot of keys)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from fhirmony.assets.graph import RELEASE_JOB, SOURCE_JOB, build_definitions
from fhirmony.config import load_config
from fhirmony.home import Home
from fhirmony.schemas import VIEWS_DIR
from fhirmony.views import load_views
from tests.test_dagster_ui import small_config  # noqa: F401  (fixture)


def test_definitions_load_with_every_stage(tmp_path: Path, small_config: Path) -> None:  # noqa: F811
    defs = build_definitions(load_config(small_config), Home(tmp_path / "home"))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {"/".join(key.path) for key in graph.get_all_asset_keys()}
    tables = sorted(view.name for view in load_views(VIEWS_DIR))
    assert {"patient", "encounter", "condition", "observation"} <= set(tables)
    assert keys == {"landing", "fhir", "release"} | {f"harmonized/{t}" for t in tables} | {
        f"deidentified/{t}" for t in tables
    }
    checks = {("/".join(k.asset_key.path), k.name) for k in graph.asset_check_keys}
    assert checks == {(f"deidentified/{t}", "quality_catalogue") for t in tables} | {("release", "release_checks")}
    assert defs.resolve_job_def(SOURCE_JOB).partitions_def.get_partition_keys() == ["de-a", "fr-b"]
    assert defs.resolve_job_def(RELEASE_JOB) is not None
