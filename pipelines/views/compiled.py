"""CompiledView: a ViewDefinition validated and compiled once, evaluated over dicts or NDJSON in batches."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.views.definition import ColumnSpec, ViewSpec, build_view, required_element
from fhirmony.views.errors import ViewDefinitionError, ViewError
from fhirmony.views.fhirpath.compiler import Env
from fhirmony.views.rows import Row, row_producer
from fhirmony.views.sql import NotTranslatable, SqlPlan, plan_view
from fhirmony.views.types import arrow_kind, arrow_type, to_arrow

LOG = logging.getLogger(__name__)
SMALL_FILE = 1 << 20  # below this the closures beat DuckDB's fixed cost of binding the query


@dataclass
class ViewBatch:
    """Rows of one batch as an Arrow table with the view's schema, and the resources that failed."""

    table: pa.Table
    errors: list[ViewError] = field(default_factory=list)


class CompiledView:
    """A validated ViewDefinition whose FHIRPath is compiled to closures once."""

    def __init__(self, definition: dict, spec: ViewSpec) -> None:
        self.definition = definition
        self.spec = spec
        self.name: str = spec.name
        self.resource: str = spec.resource
        self.columns: list[ColumnSpec] = spec.columns
        self.schema: pa.Schema = pa.schema(
            [
                pa.field(
                    c.name,
                    arrow_type(c.fhir_type, c.collection, c.tags.get("ansi/type")),
                    metadata={"fhir_type": c.fhir_type or "string", "path": c.path, "description": c.description},
                )
                for c in spec.columns
            ],
            metadata={"view": self.name, "resource": self.resource},
        )
        self._produce = row_producer(spec)
        required = required_element(spec)
        self._needle: bytes | None = None if required is None else b'"' + required.encode()
        self.sql_plan: SqlPlan | None = None
        self.sql_reason = ""
        try:
            self.sql_plan = plan_view(spec, [arrow_kind(f.type) for f in self.schema])
        except NotTranslatable as exc:
            self.sql_reason = str(exc)

    def __repr__(self) -> str:
        return f"CompiledView({self.name!r}, resource={self.resource!r}, columns={len(self.columns)})"

    # ------------------------------------------------------------ rows
    def rows(self, resource: dict) -> list[Row]:
        """Rows for one resource as tuples in column order (raises EvaluationError)."""
        return self._produce(resource, Env(resource))

    def evaluate_rows(self, resources: Iterable[dict]) -> list[dict]:
        """Every row as a dict (column -> Python value); raises on the first resource that fails."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row, strict=True)) for r in resources for row in self.rows(r)]

    # ------------------------------------------------------------ Arrow
    def evaluate(self, resources: Iterable[dict]) -> ViewBatch:
        """Evaluate in memory; errors carry file "" and the 1-based position of the resource."""
        builder = _BatchBuilder(self)
        for index, resource in enumerate(resources):
            builder.add(resource, "", index + 1)
        return builder.finish()

    def evaluate_ndjson(
        self,
        paths: Sequence[Path | str],
        batch_size: int = 10_000,
        engine: str = "auto",
        threads: int | None = None,
    ) -> Iterator[ViewBatch]:
        """Stream NDJSON files in batches of at most `batch_size` lines (memory stays flat).

        engine: "auto" runs flat views that translate to SQL on DuckDB (`threads` caps its threads)
        for files of at least SMALL_FILE bytes, and everything else on the compiled Python closures;
        "python" or "duckdb" force one.
        """
        if engine not in {"auto", "python", "duckdb"}:
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "duckdb" and self.sql_plan is None:
            raise ValueError(f"view {self.name} does not translate to SQL: {self.sql_reason}")
        use_sql = engine != "python" and self.sql_plan is not None
        yielded = False
        for path in paths:
            sql_here = use_sql and (engine == "duckdb" or Path(path).stat().st_size >= SMALL_FILE)
            batches = self._duckdb_file(Path(path), batch_size, threads) if sql_here else None
            for batch in batches if batches is not None else self._python_file(Path(path), batch_size, 0):
                yielded = True
                yield batch
        if not yielded:
            yield ViewBatch(self.schema.empty_table())

    def _python_file(self, path: Path, batch_size: int, after_line: int) -> Iterator[ViewBatch]:
        builder = _BatchBuilder(self)
        name = str(path)
        needle = self._needle
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number <= after_line or not line.strip():
                    continue
                if needle is not None and needle not in line:  # cannot yield rows: skip the parse
                    builder.count += 1
                    if builder.count >= batch_size:
                        yield builder.finish()
                        builder = _BatchBuilder(self)
                    continue
                try:
                    resource = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    builder.errors.append(ViewError(name, number, f"invalid JSON: {exc}"))
                    continue
                builder.add(resource, name, number)
                if builder.count >= batch_size:
                    yield builder.finish()
                    builder = _BatchBuilder(self)
        if builder.count or builder.errors:
            yield builder.finish()

    def _duckdb_file(self, path: Path, batch_size: int, threads: int | None) -> Iterator[ViewBatch]:
        from fhirmony.views.duck import run_plan

        failed_after: list[int] = []
        assert self.sql_plan is not None
        batches = run_plan(self.sql_plan, path, self.resource, self.schema, batch_size, threads, failed_after.append)
        for batch in batches:
            if not batch.retry:
                yield ViewBatch(batch.table)
                continue
            builder = _BatchBuilder(self)
            for retry in batch.retry:
                builder.add(retry.resource, str(path), retry.line)
            fixed = builder.finish()
            position_of_line = {retry.line: retry.position for retry in batch.retry}
            fixed_positions = [position_of_line[builder.origins[owner][1]] for owner in builder.owners]
            assert batch.positions is not None
            positions = pa.concat_arrays([batch.positions, pa.array(fixed_positions, batch.positions.type)])
            merged = pa.concat_tables([batch.table, fixed.table]).take(pc.sort_indices(positions))  # file order
            yield ViewBatch(merged, fixed.errors)
        if failed_after:
            LOG.warning("%s: DuckDB could not read %s; continuing in Python after line %d", self.name, path,
                        failed_after[0])  # fmt: skip
            yield from self._python_file(path, batch_size, failed_after[0])

    def empty_table(self) -> pa.Table:
        return self.schema.empty_table()


class _BatchBuilder:
    """Accumulates rows and their owners for one batch, then converts columns to Arrow."""

    def __init__(self, view: CompiledView) -> None:
        self.view = view
        self.rows: list[Row] = []
        self.owners: list[int] = []
        self.origins: list[tuple[str, int]] = []
        self.errors: list[ViewError] = []
        self.count = 0
        self.env = Env()

    def add(self, resource: object, file: str, line: int) -> None:
        self.count += 1
        if not isinstance(resource, dict):
            self.errors.append(ViewError(file, line, "not a JSON object"))
            return
        env = self.env
        env.resource = resource
        env.row_index = 0
        try:
            produced = self.view._produce(resource, env)
        except RecursionError:
            self.errors.append(ViewError(file, line, f"view {self.view.name}: structure nests too deeply"))
            return
        except Exception as exc:  # any failure of one resource is quarantined, never fatal
            self.errors.append(ViewError(file, line, f"view {self.view.name}: {type(exc).__name__}: {exc}"))
            return
        if produced:
            owner = len(self.origins)
            self.origins.append((file, line))
            self.rows.extend(produced)
            self.owners.extend([owner] * len(produced))

    def finish(self) -> ViewBatch:
        """The batch's table and errors; afterwards `owners` holds the owner of each table row."""
        schema = self.view.schema
        if not self.rows:
            return ViewBatch(schema.empty_table(), self.errors)
        columns = list(zip(*self.rows, strict=True))
        arrays = []
        bad: dict[int, str] = {}
        for field_, values in zip(schema, columns, strict=True):
            array, failures = to_arrow(values, field_.type)
            arrays.append(array)
            for row, reason in failures.items():
                bad.setdefault(self.owners[row], f"column {field_.name}: {reason}")
        table = pa.Table.from_arrays(arrays, schema=schema)
        if bad:
            keep = pa.array([owner not in bad for owner in self.owners])
            table = table.filter(keep)
            self.owners = [owner for owner in self.owners if owner not in bad]
            for owner, reason in sorted(bad.items()):
                file, line = self.origins[owner]
                self.errors.append(ViewError(file, line, f"view {self.view.name}: {reason}"))
        return ViewBatch(table, self.errors)


def load_view(source: Path | str | dict) -> CompiledView:
    """Validate and compile a ViewDefinition from a path or a dict; raises ViewDefinitionError."""
    if isinstance(source, dict):
        definition = copy.deepcopy(source)
        where = "view"
    else:
        where = str(source)
        try:
            definition = orjson.loads(Path(source).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ViewDefinitionError(f"{where}: cannot read ViewDefinition: {exc}") from exc
    try:
        spec = build_view(definition)
    except ViewDefinitionError as exc:
        if where == "view":
            raise
        raise ViewDefinitionError(f"{where}: {exc}") from exc
    return CompiledView(definition, spec)


def default_views_dir() -> Path:
    """schemas/views: the harmonized model shipped with fhirmony."""
    import fhirmony.schemas

    return Path(fhirmony.schemas.__file__).resolve().parent / "views"


def load_views(directory: Path | str | None = None) -> list[CompiledView]:
    """Every *.json ViewDefinition in a folder (default: schemas/views), sorted by view name."""
    directory = default_views_dir() if directory is None else directory
    views = [load_view(p) for p in sorted(Path(directory).glob("*.json"))]
    names = [v.name for v in views]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ViewDefinitionError(f"{directory}: duplicate view name(s) {', '.join(sorted(duplicates))}")
    return sorted(views, key=lambda v: v.name)
