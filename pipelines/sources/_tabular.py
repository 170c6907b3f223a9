"""Helpers for relational CSV extracts (Synthea CSV, OMOP CDM, MIMIC-IV): tables in a folder or a zip,
streamed row by row, and the small conversions every table reader needs."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fhirmony.sources.base import Origin, SourceRecord

SUFFIXES = (".csv", ".csv.gz")
csv.field_size_limit(16 * 1024 * 1024)


class TableError(ValueError):
    """A table that cannot be read on (missing columns, bad encoding, broken CSV); names file and line."""

    def __init__(self, message: str, file: str, line: int, detail: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.detail = detail


Row = tuple[int, dict[str, str], str | None]  # (line, row, problem with the row's shape or None)


class Tables:
    """The CSV tables of a source path: a folder (searched recursively, `name.csv` or `name.csv.gz`,
    any case) or a `.zip` of such files. Table names are matched case-insensitively."""

    def __init__(self, root: Path, encoding: str = "utf-8-sig") -> None:
        self.root = root
        self.encoding = encoding
        self.is_zip = root.is_file() and zipfile.is_zipfile(root)
        self._index: dict[str, str] = {}
        names = self._zip_names() if self.is_zip else self._folder_names()
        for name in sorted(names, key=lambda n: (n.count("/"), n)):
            base = Path(name).name
            for suffix in SUFFIXES:
                if base.lower().endswith(suffix):
                    self._index.setdefault(base[: -len(suffix)].lower(), name)

    def _zip_names(self) -> list[str]:
        with zipfile.ZipFile(self.root) as archive:
            return [n for n in archive.namelist() if not n.startswith("__MACOSX/") and not n.endswith("/")]

    def _folder_names(self) -> list[str]:
        if self.root.is_file():
            return [self.root.name]
        return [p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()]

    def has(self, table: str) -> bool:
        return table.lower() in self._index

    def name(self, table: str) -> str:
        """The file of a table, relative to the source path (the zip member for a zip); for an absent
        table, the name it was looked for under."""
        return self._index.get(table.lower(), f"{table}.csv")

    def files(self, tables: list[str]) -> list[Path]:
        if self.is_zip:
            return [self.root]
        base = self.root.parent if self.root.is_file() else self.root
        return [base / self._index[t.lower()] for t in tables if t.lower() in self._index]

    @contextmanager
    def open(self, table: str) -> Iterator[IO[bytes]]:
        """The table's bytes (gunzipped when the name ends in .gz)."""
        name = self.name(table)
        if self.is_zip:
            with zipfile.ZipFile(self.root) as archive, archive.open(name) as raw:
                yield gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
            return
        path = self.root if self.root.is_file() else self.root / name
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            yield handle

    def lines(self, binary: IO[bytes], name: str) -> Iterator[str]:
        """Decoded lines; text not in the encoding raises TableError naming the physical line."""
        decoder = codecs.getincrementaldecoder(self.encoding)()
        for number, raw in enumerate(binary, start=1):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError as error:
                raise TableError(
                    f"{name}:{number}: not {self.encoding} text ({error.reason}); set the source's options.encoding",
                    name,
                    number,
                    "encoding",
                ) from None

    def checked_rows(self, table: str, required: tuple[str, ...] = ()) -> Iterator[Row]:
        """(line, row, problem) for every record; `line` is the CSV line the record ends on (header =
        line 1); `problem` names a wrong number of fields. Raises TableError for a missing required
        column (before any row), text not in the table's encoding, or a broken CSV structure."""
        name = self.name(table)
        with self.open(table) as binary:
            reader = csv.DictReader(self.lines(binary, name))
            try:
                header = reader.fieldnames or []
                missing = [column for column in required if column not in header]
                if missing:
                    raise TableError(f"{name}: missing column(s) {', '.join(missing)}", name, 1, "header")
                for row in reader:
                    yield reader.line_num, row, _shape_problem(row, len(header))
            except csv.Error as error:
                raise TableError(
                    f"{name}:{reader.line_num}: broken CSV: {error}", name, reader.line_num, "csv"
                ) from None

    def rows(self, table: str, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) for the well-formed rows of a (lookup) table; see `checked_rows`."""
        for line, row, problem in self.checked_rows(table, required):
            if problem is None:
                yield line, row


def _shape_problem(row: dict[Any, Any], expected: int) -> str | None:
    if None in row:
        return f"row has {expected + len(row[None])} fields, the header has {expected}"
    if any(value is None for value in row.values()):
        return f"row has {sum(v is not None for v in row.values())} fields, the header has {expected}"
    return None


def table_records(
    tables: Tables,
    table: str,
    resource_type: str,
    required: tuple[str, ...],
    build: Callable[[dict[str, str]], dict[str, Any]],
) -> Iterator[SourceRecord]:
    """Stream one table through `build(row) -> resource`. A row `build` rejects (ValueError, KeyError)
    or of the wrong shape becomes an error record with its line and raw row; a table that cannot be
    read on becomes one error record at the line of the fault."""
    name = tables.name(table)
    try:
        for line, row, problem in tables.checked_rows(table, required):
            origin = Origin(name, line, table)
            if problem is None:
                try:
                    resource = prune(build(row))
                except (ValueError, KeyError) as error:
                    problem = str(error)
                else:
                    yield SourceRecord(origin, resource.get("resourceType", resource_type), resource=resource)
                    continue
            yield SourceRecord(origin, resource_type, error=problem, raw=raw_row(row))
    except TableError as error:
        yield SourceRecord(Origin(error.file, error.line, error.detail), resource_type, error=str(error))


def prune(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop top-level elements left empty (None, "", {} or []): FHIR JSON has no nulls or empty values."""
    return {key: value for key, value in resource.items() if value not in (None, "", {}, [])}


def raw_row(row: dict[Any, Any]) -> str:
    """A row as a compact CSV line, for quarantine (extra fields included, missing ones left out)."""
    values: list[Any] = []
    for key, value in row.items():
        if key is None:
            values.extend(value)
        elif value is not None:
            values.append(value)
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().rstrip("\r\n")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$")


def fhir_date(value: str) -> str | None:
    """`2013-08-12` (or the date part of a timestamp) as a FHIR date; None if blank; ValueError if odd."""
    value = value.strip()
    if not value:
        return None
    if _DATE.match(value):
        return value
    match = _DATETIME.match(value)
    if match:
        return match.group(1)
    raise ValueError(f"not a date: {value!r}")


def fhir_datetime(value: str, offset: str = "Z") -> str | None:
    """`2196-02-24 14:38:00` → `2196-02-24T14:38:00Z` (FHIR needs a zone when a time is given; `offset`
    is used when the source has none). A plain date stays a date. None if blank; ValueError if odd."""
    value = value.strip()
    if not value:
        return None
    if _DATE.match(value):
        return value
    match = _DATETIME.match(value)
    if not match:
        raise ValueError(f"not a date-time: {value!r}")
    day, time, zone = match.groups()
    if len(time) == 5:
        time += ":00"
    if zone and zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{day}T{time}{zone or offset}"


def number(value: str) -> float | int | None:
    """A numeric cell as int or float (`1,000` allowed); None if blank or not a number."""
    text = value.strip().replace(",", "")
    if not text:
        return None
    try:
        as_float = float(text)
    except ValueError:
        return None
    if as_float != as_float or as_float in (float("inf"), float("-inf")):
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return as_float


def fhir_id(*parts: str) -> str:
    """A FHIR id from source keys: `[A-Za-z0-9-.]`, at most 64 characters."""
    text = "-".join(p for p in parts if p)
    cleaned = re.sub(r"[^A-Za-z0-9\-.]", "-", text)
    return cleaned[:64]


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


def concept(*codings: dict[str, Any] | None, text: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"coding": [c for c in codings if c]}
    if text:
        result["text"] = text
    if not result["coding"]:
        del result["coding"]
    return result


def quantity(value: float | int, unit: str | None) -> dict[str, Any]:
    """A Quantity with the unit as written; the terminology stage maps it to UCUM."""
    result: dict[str, Any] = {"value": value}
    if unit and unit.strip():
        result["unit"] = unit.strip()
    return result


def selected_table_records(
    tables: Tables,
    selected: Iterable[str],
    layout: Mapping[str, tuple[str, tuple[str, ...]]],
    builders: Mapping[str, Callable[[dict[str, str]], dict[str, Any]]],
    essential: Collection[str],
    where: str,
) -> Iterator[SourceRecord]:
    """Stream every selected table (layout: table -> (resource type, required columns)); an absent
    table is skipped, except an essential one, which becomes an error record naming it."""
    for table in selected:
        resource_type, required = layout[table]
        if not tables.has(table):
            if table in essential:
                yield SourceRecord(
                    Origin(tables.name(table), 0, "table"),
                    resource_type,
                    error=f"table {table} not found under {where}",
                )
            continue
        yield from table_records(tables, table, resource_type, required, builders[table])
