"""release: every source's deidentified tables published as one immutable, documented release."""

from collections.abc import Iterator

import dagster as dg

from fhirmony.assets.resource import FhirmonyResource
from fhirmony.publish.build import publish_release
from fhirmony.views import CompiledView

RELEASE_CHECK = "release_checks"


def build_release(views: list[CompiledView]) -> dg.AssetsDefinition:
    tables = [view.name for view in views]

    @dg.asset(
        key=["release"],
        deps=[dg.AssetDep(["deidentified", table], partition_mapping=dg.AllPartitionMapping()) for table in tables],
        group_name="release",
        kinds={"parquet", "duckdb"},
        check_specs=[dg.AssetCheckSpec(RELEASE_CHECK, asset=["release"], blocking=True)],
        description="releases/<id>/: Parquet per table (country= partitions, zstd), manifest.json with sha256, "
        "catalog.duckdb, datasheet, croissant.json, quality results and steward report.",
    )
    def release(
        context: dg.AssetExecutionContext, fhirmony: FhirmonyResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        outcome = publish_release(fhirmony.project, fhirmony.home, views, emit=context.log.info)
        yield dg.MaterializeResult(
            metadata={
                "release_id": outcome.release_id,
                "path": dg.MetadataValue.path(str(outcome.path)),
                "sources": len(outcome.manifest["sources"]),
                "rows": sum(t["rows"] for t in outcome.manifest["tables"].values()),
                "files": len(outcome.manifest["files"]),
                "licence": outcome.manifest["licence"],
            }
        )
        yield dg.AssetCheckResult(
            check_name=RELEASE_CHECK,
            passed=not outcome.release_failures,
            metadata={"checks": outcome.release_checks, "failures": dg.MetadataValue.json(outcome.release_failures)},
        )

    return release
