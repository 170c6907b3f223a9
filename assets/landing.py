"""landing: a manifest (sha256, size) of each source's files."""

import dagster as dg

from fhirmony.assets.resource import FhirmonyResource
from fhirmony.stages.landing import run_landing


def build_landing(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["landing"],
        partitions_def=partitions,
        group_name="ingest",
        kinds={"python", "json"},
        description="Immutable manifest of the source's input files: path, sha256, bytes.",
    )
    def landing(context: dg.AssetExecutionContext, fhirmony: FhirmonyResource) -> dg.MaterializeResult:
        source = fhirmony.source(context.partition_key)
        manifest = run_landing(source, fhirmony.home)
        return dg.MaterializeResult(
            metadata={
                "source_id": source.id,
                "country": source.country,
                "format": source.format,
                "files": len(manifest["files"]),
                "ignored_files": len(manifest["ignored_files"]),
                "bytes": manifest["bytes"],
                "path": dg.MetadataValue.path(str(source.path)),
            },
            data_version=dg.DataVersion(manifest["fingerprint"]),
        )

    return landing
