"""`fhir-bundle`: FHIR R4 JSON Bundles (transaction, batch, collection, searchset), or single resources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from fhirmony.config import SourceConfig
from fhirmony.sources.base import Origin, SourceRecord, files_under, register_reader, relative_name


@register_reader("fhir-bundle")
class FhirBundleReader:
    """Each `*.json` file holds a Bundle (its entries are read) or one resource."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def files(self) -> list[Path]:
        return files_under(self.source.path, lambda name: name.endswith(".json"))

    def records(self) -> Iterator[SourceRecord]:
        for path in self.files():
            name = relative_name(path, self.source.path)
            try:
                document = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError as error:
                yield SourceRecord(Origin(name, 1), "Bundle", error=f"malformed JSON: {error}")
                continue
            yield from bundle_records(document, name)


def bundle_records(document: Any, name: str) -> Iterator[SourceRecord]:
    """The resources of a Bundle (nested Bundles are opened too), or the document if it is a resource."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        yield SourceRecord(Origin(name, 1), "Bundle", error="not a FHIR resource: no resourceType")
        return
    if document["resourceType"] != "Bundle":
        yield SourceRecord(Origin(name, 1), document["resourceType"], resource=document)
        return
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        yield SourceRecord(Origin(name, 1), "Bundle", error="Bundle.entry is not a list")
        return
    for index, entry in enumerate(entries):
        origin = Origin(name, index + 1, f"entry[{index}]")
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            if isinstance(entry, dict) and "request" in entry and "resource" not in entry:
                continue  # a DELETE or conditional request: no resource to harmonize
            yield SourceRecord(origin, "Unknown", error="Bundle entry without a resource with resourceType")
            continue
        if resource["resourceType"] == "Bundle":
            yield from bundle_records(resource, name)
            continue
        yield SourceRecord(origin, resource["resourceType"], resource=resource)
