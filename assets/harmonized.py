"""harmonized/<table>: one asset per ViewDefinition, evaluated per source partition."""

from collections.abc import Iterator

import dagster as dg
import pyarrow as pa

from fhirmony.assets.resource import FhirmonyResource
from fhirmony.stages.harmonized import run_harmonized
from fhirmony.views import CompiledView


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(field.name, str(field.type)) for field in schema])


def build_harmonized(partitions: dg.PartitionsDefinition, views: list[CompiledView]) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=["harmonized", view.name],
            deps=[dg.AssetKey(["fhir"])],
            partitions_def=partitions,
            group_name="harmonized",
            kinds={"parquet", "sql-on-fhir"},
            description=view.definition.get("description") or f"SQL-on-FHIR view {view.name} over {view.resource}",
            metadata={"view_url": view.definition.get("url", ""), "resource": view.resource},
        )
        for view in views
    ]

    @dg.multi_asset(specs=specs, partitions_def=partitions, name="harmonized_tables")
    def harmonized_tables(
        context: dg.AssetExecutionContext, fhirmony: FhirmonyResource
    ) -> Iterator[dg.MaterializeResult]:
        source = fhirmony.source(context.partition_key)
        outcomes = run_harmonized(source, fhirmony.home, views, emit=context.log.info)
        for name, outcome in outcomes.items():
            yield dg.MaterializeResult(
                asset_key=["harmonized", name],
                metadata={
                    "dagster/row_count": outcome.rows,
                    "dagster/column_schema": column_schema(outcome.schema),
                    "quarantined": outcome.quarantined,
                    "path": dg.MetadataValue.path(str(outcome.path)),
                },
            )

    return harmonized_tables
