"""deidentified/<table>: the privacy profile applied to each harmonized table, per source."""

from collections.abc import Iterator

import dagster as dg
import pyarrow.parquet as pq

from fhirmony.assets.harmonized import column_schema
from fhirmony.assets.resource import FhirmonyResource
from fhirmony.stages.deidentified import run_deidentified


def build_deidentified(partitions: dg.PartitionsDefinition, tables: list[str]) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=["deidentified", table],
            deps=[dg.AssetKey(["harmonized", table])],
            partitions_def=partitions,
            group_name="deidentified",
            kinds={"parquet"},
            description=f"{table}: direct identifiers dropped, keyed pseudonyms, per-patient date shift, split.",
        )
        for table in tables
    ]

    @dg.multi_asset(specs=specs, partitions_def=partitions, name="deidentified_tables")
    def deidentified_tables(
        context: dg.AssetExecutionContext, fhirmony: FhirmonyResource
    ) -> Iterator[dg.MaterializeResult]:
        source = fhirmony.source(context.partition_key)
        written = run_deidentified(source, fhirmony.home, fhirmony.project.privacy, tables)
        for table, path in written.items():
            parquet = pq.ParquetFile(path)
            yield dg.MaterializeResult(
                asset_key=["deidentified", table],
                metadata={
                    "dagster/row_count": parquet.metadata.num_rows,
                    "dagster/column_schema": column_schema(parquet.schema_arrow),
                    "privacy_profile": fhirmony.project.privacy.profile,
                    "path": dg.MetadataValue.path(str(path)),
                },
            )

    return deidentified_tables
