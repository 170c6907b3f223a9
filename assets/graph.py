"""The asset graph of a project: every stage's assets, the quality checks, and the two jobs."""

from __future__ import annotations

import dagster as dg

from fhirmony.assets.deidentified import build_deidentified
from fhirmony.assets.fhir import build_fhir
from fhirmony.assets.harmonized import build_harmonized
from fhirmony.assets.landing import build_landing
from fhirmony.assets.logging import concise_console
from fhirmony.assets.partitions import source_partitions
from fhirmony.assets.quality import build_quality_checks
from fhirmony.assets.release import build_release
from fhirmony.assets.resource import FhirmonyResource
from fhirmony.config import ProjectConfig
from fhirmony.home import Home
from fhirmony.schemas import VIEWS_DIR
from fhirmony.views import load_views

SOURCE_JOB = "source_pipeline"
RELEASE_JOB = "release_pipeline"


def build_definitions(config: ProjectConfig, home: Home) -> dg.Definitions:
    views = load_views(VIEWS_DIR)
    tables = [view.name for view in views]
    partitions = source_partitions(config)
    per_source = dg.AssetSelection.groups("ingest", "harmonized", "deidentified")
    return dg.Definitions(
        assets=[
            build_landing(partitions),
            build_fhir(partitions),
            build_harmonized(partitions, views),
            build_deidentified(partitions, tables),
            build_release(views),
        ],
        asset_checks=build_quality_checks(partitions, tables),
        jobs=[
            dg.define_asset_job(
                SOURCE_JOB,
                selection=per_source,
                description="landing → fhir → harmonized → deidentified → checks, for one source",
            ),
            dg.define_asset_job(
                RELEASE_JOB,
                selection=dg.AssetSelection.assets(["release"]),
                description="publish one release from every source's deidentified tables",
            ),
        ],
        loggers={"console": concise_console},
        resources={"fhirmony": FhirmonyResource(config_path=str(config.path), home_path=str(home.root))},
    )
