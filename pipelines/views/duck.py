"""Run a flat view's SQL plan on DuckDB over one NDJSON file, streaming Arrow batches.

Rows whose values break the column contract are re-evaluated by the Python engine from the
elements DuckDB read, so errors (and their line numbers) match the Python path exactly. If DuckDB
cannot read the file (e.g. a malformed line), evaluation resumes in Python after the last line
DuckDB delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.views.sql import MACROS, SqlPlan

Batch = tuple[pa.Table, list[tuple[int, dict]]]


_LOCAL = threading.local()


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection with the FHIR macros (UTC session time zone)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for macro in MACROS:
        con.execute(macro)
    return con


def run_plan(
    plan: SqlPlan,
    path: Path,
    resource: str,
    schema: pa.Schema,
    batch_size: int,
    threads: int | None,
    on_failure: Callable[[int], None],
) -> Iterator[Batch]:
    """Yield (table in `schema`, [(line, partial resource)] to re-evaluate in Python) per batch.

    When DuckDB fails mid-file, `on_failure(last_line)` is called and iteration stops; the caller
    continues with the Python engine after that line.
    """
    con = _connection(threads).cursor()  # own cursor: interleaved generators do not disturb each other
    query = plan.query(str(path), resource, schema.names)
    last_line = 0
    try:
        reader = con.sql(query).to_arrow_reader(batch_size)
        for record_batch in reader:
            table = pa.Table.from_batches([record_batch])
            if table.num_rows == 0:
                continue
            last_line = max(last_line, pc.max(table["__line"]).as_py())
            flagged = table["__error"]
            retry: list[tuple[int, dict]] = []
            if pc.any(flagged).as_py():
                bad = table.filter(flagged)
                for line, raw in zip(bad["__line"].to_pylist(), bad["__raw"].to_pylist(), strict=True):
                    partial = {k: v for k, v in orjson.loads(raw).items() if v is not None}
                    retry.append((line, {"resourceType": resource, **partial}))
                table = table.filter(pc.invert(flagged))
            arrays = [table[f.name].cast(f.type) for f in schema]
            yield pa.Table.from_arrays(arrays, schema=schema), retry
    except (duckdb.InvalidInputException, duckdb.ConversionException):  # unreadable input, not a bug
        on_failure(last_line)
    finally:
        con.close()


def _connection(threads: int | None) -> duckdb.DuckDBPyConnection:
    """One connection per thread and thread setting, reused across files and views."""
    cache: dict[int | None, duckdb.DuckDBPyConnection] = _LOCAL.__dict__.setdefault("connections", {})
    if threads not in cache:
        cache[threads] = connect(threads)
    return cache[threads]
