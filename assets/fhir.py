"""fhir: validated FHIR R4 resources per source and type; invalid records quarantined."""

import dagster as dg

from fhirmony.assets.resource import FhirmonyResource
from fhirmony.fhir.stage import run_fhir_stage


def build_fhir(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["fhir"],
        deps=[dg.AssetKey(["landing"])],
        partitions_def=partitions,
        group_name="ingest",
        kinds={"python", "fhir"},
        description="FHIR R4 resources validated with fhir.resources.R4B, one NDJSON per type; "
        "invalid records go to quarantine with reason, file and line.",
    )
    def fhir(context: dg.AssetExecutionContext, fhirmony: FhirmonyResource) -> dg.MaterializeResult:
        source = fhirmony.source(context.partition_key)
        result = run_fhir_stage(source, fhirmony.home, emit=context.log.info)
        by_type = result.to_dict()["by_type"]
        return dg.MaterializeResult(
            metadata={
                "read": result.read,
                "valid": result.valid,
                "quarantined": result.quarantined,
                "reconciles": result.read == result.valid + result.quarantined,
                "by_type": dg.MetadataValue.json(by_type),
                "quarantine_reasons": dg.MetadataValue.json(dict(result.quarantine_reasons)),
                "coverage": dg.MetadataValue.json(result.coverage),
                "records_per_second": round(result.read / result.seconds, 1) if result.seconds else 0.0,
                "path": dg.MetadataValue.path(str(fhirmony.home.stage("fhir", source.id))),
            }
        )

    return fhir
