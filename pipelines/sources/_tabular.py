"""Helpers for relational CSV extracts (Synthea CSV, OMOP CDM, MIMIC-IV): tables in a folder or a zip,
streamed row by row, and the small conversions every table reader needs."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fhirmony.sources.base import Origin, SourceRecord

SUFFIXES = (".csv", ".csv.gz")
csv.field_size_limit(16 * 1024 * 1024)


class MissingColumns(ValueError):
    """A table lacks columns the reader needs; names the file and the columns."""


class Tables:
    """The CSV tables of a source path: a folder (searched recursively, `name.csv` or `name.csv.gz`,
    any case) or a `.zip` of such files. Table names are matched case-insensitively."""

    def __init__(self, root: Path) -> None:
        self.root = root
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
        """The file of a table, relative to the source path (the zip member for a zip)."""
        return self._index[table.lower()]

    def files(self, tables: list[str]) -> list[Path]:
        if self.is_zip:
            return [self.root]
        base = self.root.parent if self.root.is_file() else self.root
        return [base / self._index[t.lower()] for t in tables if t.lower() in self._index]

    @contextmanager
    def open(self, table: str) -> Iterator[IO[str]]:
        name = self.name(table)
        if self.is_zip:
            with zipfile.ZipFile(self.root) as archive, archive.open(name) as raw:
                stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if name.endswith(".gz") else raw
                yield io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            return
        path = self.root if self.root.is_file() else self.root / name
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            yield handle

    def rows(self, table: str, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) for every record; `line` is the CSV line the record ends on (header = line 1).
        Raises MissingColumns before the first row when a required column is absent."""
        with self.open(table) as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [column for column in required if column not in header]
            if missing:
                raise MissingColumns(f"{self.name(table)}: missing column(s) {', '.join(missing)}")
            for row in reader:
                yield reader.line_num, row


def prune(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop top-level elements left empty (None, "", {} or []): FHIR JSON has no nulls or empty values."""
    return {key: value for key, value in resource.items() if value not in (None, "", {}, [])}


def table_error(tables: Tables, table: str, resource_type: str, error: Exception) -> SourceRecord:
    """One record telling why a whole table could not be read (missing columns, encoding)."""
    name = tables.name(table) if tables.has(table) else f"{table}.csv"
    return SourceRecord(Origin(name, 1, "header"), resource_type, error=str(error))


def raw_row(row: dict[str, str]) -> str:
    """A row as a compact CSV line, for quarantine."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row.values())
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
