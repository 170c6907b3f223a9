"""What every source reader yields, and the registry that maps a `format:` to its reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fhirmony.config import SourceConfig


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: a file (relative to the source path), a line or row, and a detail."""

    file: str
    line: int
    detail: str = ""  # e.g. "entry[3]" in a Bundle, or the mapping rule at fault

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} ({self.detail})" if self.detail else where


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record read from a source: a FHIR R4 resource (as JSON) or the reason it could not be made.

    Exactly one of `resource` and `error` is set. `resource_type` is the FHIR type the record was
    meant to become (known even for most errors), so counts reconcile per source and type.
    """

    origin: Origin
    resource_type: str
    resource: dict[str, Any] | None = None
    error: str | None = None
    raw: str | None = None  # the offending input (line or row), kept in quarantine


class Reader(Protocol):
    """A source format: lists its input files, then streams records from them."""

    def files(self) -> list[Path]:
        """Every input file this source will read, in a stable order."""
        ...

    def records(self) -> Iterator[SourceRecord]:
        """All records, streamed; never the whole source in memory."""
        ...


ReaderFactory = Callable[[SourceConfig], Reader]
_READERS: dict[str, ReaderFactory] = {}


def register_reader(format_name: str) -> Callable[[ReaderFactory], ReaderFactory]:
    """Class decorator: `@register_reader("fhir-ndjson")` makes the format usable in fhirmony.yaml."""

    def decorate(factory: ReaderFactory) -> ReaderFactory:
        _READERS[format_name] = factory
        return factory

    return decorate


def reader_for(source: SourceConfig) -> Reader:
    """The reader of a source's format; importing `fhirmony.sources` registers all built-in formats."""
    factory = _READERS.get(source.format)
    if factory is None:
        available = ", ".join(sorted(_READERS)) or "none"
        raise ValueError(f"source {source.id!r}: no reader for format {source.format!r} (available: {available})")
    return factory(source)


def files_under(root: Path, wanted: Callable[[str], bool]) -> list[Path]:
    """The source path itself when it is a file; else the files below it whose name is `wanted`, sorted."""
    if root.is_file():
        return [root]
    return sorted(path for path in root.rglob("*") if path.is_file() and wanted(path.name))


def relative_name(path: Path, root: Path) -> str:
    """A file's name relative to the source path (the source path itself when it is a file)."""
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()
