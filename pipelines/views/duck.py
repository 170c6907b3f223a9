"""Run a flat view's SQL plan on DuckDB over one NDJSON file, streaming Arrow batches.

Rows whose values break the column contract are re-evaluated by the Python engine from the
elements DuckDB read, so errors (and their line numbers) match the Python path exactly. If DuckDB
cannot read the file (e.g. a malformed line), evaluation resumes in Python after the last line
DuckDB delivered.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.views.sql import MACROS, SqlPlan


@dataclass(frozen=True)
class Retry:
    """A resource whose row(s) the Python engine must produce: its line, its position among the
    batch's resources, and the elements DuckDB read."""

    line: int
    position: int
    resource: dict


@dataclass(frozen=True)
class SqlBatch:
    """The rows DuckDB produced (in `schema`) and the resources left to the Python engine. With
    retries, `positions` holds each row's resource position, to merge both in file order."""

    table: pa.Table
    retry: list[Retry]
    positions: pa.Array | None = None


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


class LineNumbers:
    """Physical line numbers of the non-blank lines of a file, read only when first needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lines: array | None = None

    def line(self, ordinal: int) -> int:
        """The line number of the `ordinal`-th (1-based) non-blank line; 0 for ordinal 0."""
        if ordinal == 0:
            return 0
        if self._lines is None:
            self._lines = array("q")
            with open(self.path, "rb") as handle:
                for number, text in enumerate(handle, start=1):
                    if text.strip():
                        self._lines.append(number)
        return self._lines[ordinal - 1]


def run_plan(
    plan: SqlPlan,
    path: Path,
    resource: str,
    schema: pa.Schema,
    batch_size: int,
    threads: int | None,
    on_failure: Callable[[int], None],
) -> Iterator[SqlBatch]:
    """Yield the rows of each batch and the resources to re-evaluate in Python.

    DuckDB returns one row per non-blank line in file order; rows are numbered here. When DuckDB
    fails mid-file, `on_failure(last_line)` is called and iteration stops; the caller continues
    with the Python engine after that line.
    """
    con = _connection(threads).cursor()  # own cursor: interleaved generators do not disturb each other
    query = plan.query(str(path), resource)
    lines = LineNumbers(path)
    seen = 0
    try:
        reader = con.sql(query).to_arrow_reader(batch_size)
        for record_batch in reader:
            table = pa.Table.from_batches([record_batch])
            first, seen = seen, seen + table.num_rows
            flagged = table["__error"]
            retry: list[Retry] = []
            if pc.any(flagged).as_py():
                positions = pc.indices_nonzero(flagged).to_pylist()
                for position, raw in zip(positions, table["__raw"].filter(flagged).to_pylist(), strict=True):
                    partial = {k: v for k, v in orjson.loads(raw).items() if v is not None}
                    line = lines.line(first + position + 1)
                    retry.append(Retry(line, position, {"resourceType": resource, **partial}))
            good = pc.and_(table["__keep"], pc.invert(flagged))
            kept = None if not retry else pc.indices_nonzero(good)
            if not pc.all(good).as_py():
                table = table.filter(good)
            if plan.items is not None:
                columns, parents = _explode(table, plan)
                kept = None if kept is None else kept.take(parents)
            else:
                columns = {n: table[n] for n in plan.names}
            arrays = [columns[f.name].cast(f.type) for f in schema]
            yield SqlBatch(pa.Table.from_arrays(arrays, schema=schema), retry, kept)
    except (duckdb.InvalidInputException, duckdb.ConversionException):  # unreadable input, not a bug
        on_failure(lines.line(seen))
    finally:
        con.close()


def _explode(table: pa.Table, plan: SqlPlan) -> tuple[dict[str, pa.Array | pa.ChunkedArray], pa.Array]:
    """One row per forEach element: top-level columns repeated, item columns from the structs;
    with forEachOrNull a resource without elements keeps one row of nulls (%rowIndex 0). Rows stay
    in resource order; also returns each row's index in `table`."""
    assert plan.items is not None
    lists = table["__items"].combine_chunks()
    parents = pc.list_parent_indices(lists)
    flat = pc.list_flatten(lists)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {n: table[n].take(parents) for n in plan.names}
    for k, name in enumerate(plan.items.names):
        columns[name] = flat.field(f"i{k}")
    if plan.items.or_null:
        empty = pc.indices_nonzero(pc.fill_null(pc.equal(pc.list_value_length(lists), 0), True))
        if len(empty):
            hoisted = set(plan.items.hoisted)
            for name in plan.names:
                kept = table[name].take(empty)
                if name in hoisted:  # the null row of forEachOrNull: element columns are null
                    kept = pa.nulls(len(empty), columns[name].type)
                columns[name] = pa.concat_arrays([_array(columns[name]), _array(kept)])
            for k, name in enumerate(plan.items.names):
                filler = pa.array([0 if plan.items.row_index[k] else None] * len(empty), columns[name].type)
                columns[name] = pa.concat_arrays([_array(columns[name]), filler])
            parents = pa.concat_arrays([parents, empty.cast(parents.type)])
            order = pc.sort_indices(parents)  # stable: elements keep their order
            parents = parents.take(order)
            columns = {name: values.take(order) for name, values in columns.items()}
    return columns, parents


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _connection(threads: int | None) -> duckdb.DuckDBPyConnection:
    """One connection per process, thread and thread setting, reused across files and views
    (keyed by pid too: a forked worker must not use its parent's database)."""
    cache: dict[tuple[int, int | None], duckdb.DuckDBPyConnection] = _LOCAL.__dict__.setdefault("connections", {})
    key = (os.getpid(), threads)
    if key not in cache:
        cache[key] = connect(threads)
    return cache[key]
