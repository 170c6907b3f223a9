"""The harmonized stage: every ViewDefinition in schemas/views/ over a source's validated FHIR.

One Parquet file per view and source, written batch by batch, with the provenance columns
`source_id` and `country` on every row. A resource a view cannot evaluate goes to quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.config import SourceConfig
from fhirmony.fhir.stage import output_files, source_origins
from fhirmony.home import Home
from fhirmony.progress import Emit, Progress
from fhirmony.quarantine import QuarantineWriter, Rejection
from fhirmony.views import CompiledView

STAGE = "harmonized"
PROVENANCE = (pa.field("source_id", pa.string(), nullable=False), pa.field("country", pa.string(), nullable=False))


@dataclass
class TableOutcome:
    table: str
    resource_type: str
    path: Path
    rows: int
    quarantined: int
    schema: pa.Schema

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "resource_type": self.resource_type,
            "path": str(self.path),
            "rows": self.rows,
            "quarantined": self.quarantined,
        }


def output_schema(view: CompiledView) -> pa.Schema:
    """The view's columns followed by the provenance columns."""
    return pa.schema([*view.schema, *PROVENANCE])


def run_harmonized(
    source: SourceConfig, home: Home, views: list[CompiledView], *, emit: Emit | None = None
) -> dict[str, TableOutcome]:
    """Evaluate each view over the source's fhir-stage NDJSON; returns the outcome per table."""
    inputs = output_files(home, source.id)
    out_dir = home.stage(STAGE, source.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, TableOutcome] = {}
    with QuarantineWriter(home.quarantine(source.id) / f"{STAGE}.ndjson") as quarantine:
        for view in views:
            outcomes[view.name] = _run_view(source, view, inputs.get(view.resource), out_dir, quarantine, emit)
    counts = {name: outcome.to_dict() for name, outcome in outcomes.items()}
    (out_dir / "counts.json").write_bytes(orjson.dumps(counts, option=orjson.OPT_INDENT_2))
    return outcomes


def _run_view(
    source: SourceConfig,
    view: CompiledView,
    input_path: Path | None,
    out_dir: Path,
    quarantine: QuarantineWriter,
    emit: Emit | None,
) -> TableOutcome:
    schema = output_schema(view)
    path = out_dir / f"{view.name}.parquet"
    progress = Progress(source.id, f"{STAGE}/{view.name}", emit)
    rows = 0
    rejected = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in view.evaluate_ndjson([input_path] if input_path else []):
            origins = source_origins(input_path, {e.line for e in batch.errors}) if input_path else {}
            for error in batch.errors:
                rejected += 1
                file, line, detail = origins.get(error.line, (error.file, error.line, ""))
                quarantine.write(
                    Rejection(
                        STAGE,
                        source.id,
                        view.resource,
                        file,
                        line,
                        f"view {view.name} could not evaluate: {error.reason}",
                        detail,
                    )
                )
            table = with_provenance(batch.table, source)
            if table.num_rows:
                writer.write_table(table.cast(schema))
            rows += table.num_rows
            progress.advance(table.num_rows)
    if rows or rejected:
        progress.done(f"{rows:,} rows, {rejected:,} quarantined")
    return TableOutcome(view.name, view.resource, path, rows, rejected, schema)


def with_provenance(table: pa.Table, source: SourceConfig) -> pa.Table:
    """Append `source_id` and `country` columns (constant per source)."""
    rows = table.num_rows
    table = table.append_column(PROVENANCE[0], pa.repeat(pa.scalar(source.id, pa.string()), rows))
    return table.append_column(PROVENANCE[1], pa.repeat(pa.scalar(source.country, pa.string()), rows))
