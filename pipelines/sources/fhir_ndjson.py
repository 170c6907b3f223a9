"""`fhir-ndjson`: FHIR Bulk Data export, one resource per line, `.ndjson` or `.ndjson.gz`."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import orjson

from fhirmony.config import SourceConfig
from fhirmony.sources.base import Origin, SourceRecord, files_under, register_reader, relative_name

SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")


def resource_type_from_name(name: str) -> str:
    """`Patient.000.ndjson` → `Patient` (Bulk Data names files after the type)."""
    return Path(name).name.split(".")[0]


def is_resource_file(name: str) -> bool:
    """Bulk Data files start with a resource type: an upper-case letter, then letters."""
    stem = resource_type_from_name(name)
    return stem[:1].isupper() and stem.isalpha()


@register_reader("fhir-ndjson")
class FhirNdjsonReader:
    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def files(self) -> list[Path]:
        """NDJSON files named after a FHIR resource type (`Patient.000.ndjson`); others, such as a
        Bulk Data export's `log.ndjson`, are not resource files and are listed by `ignored_files`."""
        return files_under(self.source.path, lambda name: name.endswith(SUFFIXES) and is_resource_file(name))

    def ignored_files(self) -> list[Path]:
        if self.source.path.is_file():
            return []
        return files_under(self.source.path, lambda name: name.endswith(SUFFIXES) and not is_resource_file(name))

    def records(self) -> Iterator[SourceRecord]:
        for path in self.files():
            name = relative_name(path, self.source.path)
            expected_type = resource_type_from_name(name)
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    yield parse_line(line, Origin(name, number), expected_type)


def parse_line(line: bytes, origin: Origin, expected_type: str) -> SourceRecord:
    """One NDJSON line to a record; malformed JSON or a non-resource becomes an error record."""
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return SourceRecord(origin, expected_type, error=f"malformed JSON: {error}", raw=_excerpt(line))
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return SourceRecord(origin, expected_type, error="not a FHIR resource: no resourceType", raw=_excerpt(line))
    return SourceRecord(origin, resource["resourceType"], resource=resource)


def _excerpt(line: bytes, limit: int = 2000) -> str:
    return line[:limit].decode("utf-8", errors="replace").rstrip("\n")
