"""The deidentified stage: the privacy profile applied to every harmonized table of a source."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.config import PrivacyConfig, SourceConfig
from fhirmony.home import Home
from fhirmony.privacy import deidentify_table, load_key, load_profile
from fhirmony.stages.harmonized import STAGE as HARMONIZED

STAGE = "deidentified"
BATCH_ROWS = 100_000


def run_deidentified(source: SourceConfig, home: Home, privacy: PrivacyConfig, tables: list[str]) -> dict[str, Path]:
    """Write `stages/deidentified/<source>/<table>.parquet` for each harmonized table."""
    profile = load_profile(privacy.profile)
    key = load_key(privacy)
    out_dir = home.stage(STAGE, source.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for table_name in tables:
        path = out_dir / f"{table_name}.parquet"
        harmonized = pq.ParquetFile(home.stage(HARMONIZED, source.id) / f"{table_name}.parquet")
        writer: pq.ParquetWriter | None = None
        try:
            # Batch by batch: every transform is per row (keyed per patient), so memory stays flat.
            for batch in harmonized.iter_batches(batch_size=BATCH_ROWS):
                released = deidentify_table(table_name, pa.Table.from_batches([batch]), profile, key)
                if writer is None:
                    writer = pq.ParquetWriter(path, released.schema, compression="zstd")
                writer.write_table(released)
            if writer is None:  # an empty table still gets its released schema
                empty = harmonized.schema_arrow.empty_table()
                pq.write_table(deidentify_table(table_name, empty, profile, key), path, compression="zstd")
        finally:
            if writer is not None:
                writer.close()
        written[table_name] = path
    return written
