"""`csv`: delimited text files mapped onto FHIR R4 by a declarative mapping YAML (`mapping:` of the source).

Rows stream through the csv module, one `SourceRecord` per row. A row that cannot be mapped (bad date,
unmapped code, missing required value, wrong field count, undecodable bytes) becomes an error record
whose origin names the file, the line and the mapping rule. A mapping that does not fit the files (a
missing file or column, an undecodable header) raises `MappingError` before any row is read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from fhirmony.config import SourceConfig
from fhirmony.sources.base import Origin, SourceRecord, register_reader, relative_name
from fhirmony.sources.mapping.engine import RowMapper
from fhirmony.sources.mapping.model import CsvOptions, FileRule, Mapping, MappingError, Table
from fhirmony.sources.mapping.spec import load_mapping

RAW_LIMIT = 2000
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@register_reader("csv")
class CsvMappingReader:
    """Reads the files a mapping names, in the mapping's order; lookup tables load on first use."""

    def __init__(self, source: SourceConfig) -> None:
        if source.mapping is None:
            raise MappingError(f"source {source.id!r}: format 'csv' needs mapping: (a mapping YAML)")
        self.source = source
        self.mapping: Mapping = load_mapping(source.mapping)
        self._tables: dict[str, dict[str, Any]] = {}

    @property
    def root(self) -> Path:
        return self.source.path if self.source.path.is_dir() else self.source.path.parent

    def files(self) -> list[Path]:
        found: dict[Path, None] = {}
        for rule in self.mapping.files:
            for path in self._matches(rule.file, f"files[{rule.index}].file"):
                found[path] = None
        for table in self.mapping.tables.values():
            if table.file is not None:
                found[self._table_path(table)] = None
        return sorted(found)

    def records(self) -> Iterator[SourceRecord]:
        matched = False
        for rule in self.mapping.files:
            for path in self._matches(rule.file, f"files[{rule.index}].file"):
                matched = True
                yield from self._read(rule, path)
        if not matched:
            patterns = ", ".join(rule.file for rule in self.mapping.files)
            raise MappingError(f"{self.mapping.path}: files: {self.source.path.name} matches none of {patterns}")

    def _matches(self, pattern: str, key: str) -> list[Path]:
        if self.source.path.is_file():
            return [self.source.path] if self.source.path.match(pattern) else []
        paths = sorted(p for p in self.root.glob(pattern) if p.is_file())
        if not paths:
            raise MappingError(f"{self.mapping.path}: {key}: no file matches {pattern!r} in {self.root}")
        return paths

    def _read(self, rule: FileRule, path: Path) -> Iterator[SourceRecord]:
        name = relative_name(path, self.source.path)
        options = rule.options
        check_bytes = codecs.lookup(options.encoding).name != "iso8859-1"  # Latin-1 decodes every byte
        mapper = RowMapper(self.mapping, rule, {j.table: self._table(j.table) for j in rule.joins})
        where = f"{self.mapping.label}: {rule.label}"
        with _open_text(path, options.encoding, "surrogateescape") as handle:
            reader = csv.reader(handle, delimiter=options.delimiter, quotechar=options.quotechar)
            header = self._header(reader, rule, options, name, check_bytes)
            width = len(header)
            for start, fields, problem in _rows(reader):
                if problem is not None:
                    yield _error(name, start, rule, where, f"malformed row: {problem}", "")
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                raw = options.delimiter.join(fields)
                if check_bytes and not _decodable(raw):
                    yield _error(
                        name,
                        start,
                        rule,
                        f"{where}.encoding",
                        f"encoding error: bytes that are not valid {options.encoding}",
                        raw,
                    )
                    continue
                if len(fields) != width:
                    yield _error(
                        name, start, rule, where, f"malformed row: {len(fields)} fields, the header has {width}", raw
                    )
                    continue
                resource, problems = mapper.build(dict(zip(header, fields, strict=True)))
                if problems:
                    message = problems[0][1] + ": " + "; ".join(f"{label}: {text}" for label, _, text in problems)
                    yield _error(name, start, rule, f"{self.mapping.label}: {problems[0][0]}", message, raw)
                else:
                    yield SourceRecord(Origin(name, start), rule.resource, resource=resource)

    def _header(self, reader: Any, rule: FileRule, options: CsvOptions, name: str, check_bytes: bool) -> list[str]:
        where = f"{self.mapping.path}: {rule.label}"
        if options.header:
            try:
                header = next(reader)
            except StopIteration:
                raise MappingError(f"{name}:1: the file is empty but {where} expects a header row") from None
            except UnicodeError as error:
                raise MappingError(
                    f"{name}:1: not readable as {options.encoding} ({where}.encoding): {error}"
                ) from None
            if check_bytes and not _decodable("".join(header)):
                raise MappingError(f"{name}:1: the header is not valid {options.encoding} ({where}.encoding)")
            header = [column.strip().lstrip("\ufeff") for column in header]
        else:
            header = list(options.columns or ())
        for column, label in rule.columns_used(self.mapping.tables).items():
            if column not in header:
                raise MappingError(
                    f"{name}:1: column {column!r} used by {self.mapping.path.name}: {label} is not in the file "
                    f"(columns: {', '.join(header)})"
                )
        return header

    def _table_path(self, table: Table) -> Path:
        assert table.file is not None
        path = self.root / table.file
        if not path.is_file():
            raise MappingError(f"{self.mapping.path}: {table.label}.file: {table.file!r} not found in {self.root}")
        return path

    def _table(self, name: str) -> dict[str, Any]:
        if name in self._tables:
            return self._tables[name]
        table = self.mapping.tables[name]
        if table.values is not None:
            entries: dict[str, Any] = table.values
        else:
            entries = self._load_table(table)
        self._tables[name] = entries
        return entries

    def _load_table(self, table: Table) -> dict[str, Any]:
        path = self._table_path(table)
        options = table.options
        file_name = relative_name(path, self.source.path)
        entries: dict[str, Any] = {}
        with _open_text(path, options.encoding, "replace") as handle:
            reader = csv.reader(handle, delimiter=options.delimiter, quotechar=options.quotechar)
            header = [c.strip().lstrip("\ufeff") for c in next(reader, [])]
            assert table.key is not None
            for column in (*table.key.fields, *table.columns):
                if column not in header:
                    raise MappingError(
                        f"{file_name}:1: column {column!r} used by {self.mapping.path.name}: "
                        f"{table.label} is not in the file (columns: {', '.join(header)})"
                    )
            for fields in reader:
                if len(fields) != len(header):
                    continue  # a lookup row that does not parse leaves its key unmapped: the join reports it
                row = {column: value.strip() for column, value in zip(header, fields, strict=True)}
                key = table.key.render(row)
                if key is not None:
                    entries.setdefault(key, {column: row[column] for column in table.columns})
        return entries


def _rows(reader: Any) -> Iterator[tuple[int, list[str], str | None]]:
    """(first line, fields, None) per row, or (line, [], problem) where the csv module gives up on one."""
    line = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield line + 1, [], str(error)
        else:
            yield line + 1, fields, None
        line = reader.line_num


def _open_text(path: Path, encoding: str, errors: str) -> IO[str]:
    """A text stream over a plain or gzip-compressed (`.gz`) file, newlines left to the csv module."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    return path.open("r", encoding=encoding, errors=errors, newline="")


def _decodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(name: str, line: int, rule: FileRule, detail: str, message: str, raw: str) -> SourceRecord:
    return SourceRecord(
        Origin(name, line, detail),
        rule.resource,
        error=message,
        raw=raw[:RAW_LIMIT].encode("utf-8", "replace").decode("utf-8"),
    )
