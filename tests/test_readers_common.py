"""Shared by the reader tests (no tests here): read a source once, validate samples with fhir.resources.R4B."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirmony.config import SourceConfig
from fhirmony.sources import SourceRecord, reader_for


@dataclass
class ReadResult:
    records: list[SourceRecord]
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[SourceRecord] = field(default_factory=list)

    def of(self, resource_type: str) -> list[dict[str, Any]]:
        return [r.resource for r in self.records if r.resource and r.resource_type == resource_type]


def source(fmt: str, path: Path, **options: Any) -> SourceConfig:
    return SourceConfig(id="test", country="US", format=fmt, path=path, licence="test", options=options)


def read_all(fmt: str, path: Path, **options: Any) -> ReadResult:
    result = ReadResult(list(reader_for(source(fmt, path, **options)).records()))
    for record in result.records:
        if record.error:
            result.errors.append(record)
        else:
            result.counts[record.resource_type] += 1
    return result


def invalid_resources(resources: list[dict[str, Any]]) -> list[str]:
    """Validation messages of the resources fhir.resources.R4B rejects (empty when all are valid)."""
    from fhir.resources.R4B import get_fhir_model_class

    problems = []
    for resource in resources:
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except Exception as error:
            problems.append(f"{resource['resourceType']}/{resource.get('id')}: {error}")
    return problems


def sample(resources: list[dict[str, Any]], size: int = 300) -> list[dict[str, Any]]:
    step = max(1, len(resources) // size)
    return resources[::step]
