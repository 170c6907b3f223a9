"""Arrow helpers shared by the engines: column resolution, renaming, temporal normalization."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

UTC_US = pa.timestamp("us", tz="UTC")


def is_temporal(dtype: pa.DataType) -> bool:
    return pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)


def to_utc(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Dates and timestamps as timestamp[us, UTC] (dates at midnight UTC); others unchanged."""
    dtype = column.type
    if pa.types.is_date(dtype):
        return pc.cast(pc.cast(column, pa.timestamp("us")), UTC_US)
    if pa.types.is_timestamp(dtype) and dtype != UTC_US:
        if dtype.tz is None:
            return pc.cast(pc.cast(column, pa.timestamp("us")), UTC_US)
        return pc.cast(column, UTC_US)
    return column


def project(table: pa.Table, columns: Mapping[str, str]) -> pa.Table:
    """The table's `columns` (canonical name → actual column), renamed, temporal ones in UTC."""
    arrays = [to_utc(table.column(actual)) for actual in columns.values()]
    return pa.table(arrays, names=list(columns))


def first_present(names: Iterable[str], columns: Iterable[str]) -> str | None:
    present = set(columns)
    return next((n for n in names if n in present), None)


def sample_ids(ids: pa.Array | pa.ChunkedArray, mask: pa.Array | pa.ChunkedArray, limit: int) -> list[str]:
    """Up to `limit` ids of the rows where `mask` is true, as strings."""
    chosen = pc.filter(ids, pc.fill_null(mask, False))
    return [str(v) for v in chosen.slice(0, limit).to_pylist() if v is not None]
