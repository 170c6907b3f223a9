"""`fhir-xml`: FHIR R4 XML resources and Bundles, turned into FHIR JSON dicts.

The XML → JSON rules (repeating elements as arrays, primitive extensions as `_field`, contained
resources, the XHTML narrative, typed `value` attributes) use the element cardinalities and types of
the fhir.resources R4B models (`_fhir_xml_json`), not a hand-kept list. Bundles are streamed entry by
entry (lxml iterparse), so a large Bundle is never held whole; each entry's resource is converted on
its own and a bad entry does not spoil the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from fhirmony.config import SourceConfig
from fhirmony.sources._fhir_xml_json import local_name, resource_json
from fhirmony.sources.base import Origin, SourceRecord, files_under, register_reader, relative_name

FHIR_NS = "http://hl7.org/fhir"
ENTRY = f"{{{FHIR_NS}}}entry"
BUNDLE = f"{{{FHIR_NS}}}Bundle"
SUFFIXES = (".xml",)


def _excerpt(element: Any, limit: int = 2000) -> str:
    return etree.tostring(element, encoding="unicode")[:limit]


@register_reader("fhir-xml")
class FhirXmlReader:
    """Each `*.xml` file holds one resource or a Bundle (its entries are read; nested Bundles too)."""

    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def files(self) -> list[Path]:
        return files_under(self.source.path, lambda name: name.lower().endswith(SUFFIXES))

    def records(self) -> Iterator[SourceRecord]:
        for path in self.files():
            yield from self._file(path, relative_name(path, self.source.path))

    def _file(self, path: Path, name: str) -> Iterator[SourceRecord]:
        context = etree.iterparse(
            str(path),
            events=("end",),
            tag=ENTRY,
            remove_comments=True,
            resolve_entities=False,
            no_network=True,
            huge_tree=True,
        )
        index = 0
        try:
            for _, entry in context:
                bundle = entry.getparent()
                if bundle is None or bundle.tag != BUNDLE or bundle.getparent() is not None:
                    continue  # an entry of a nested Bundle: read with the entry that holds it
                yield from _entry(entry, name, index)
                index += 1
                entry.clear()
                while entry.getprevious() is not None:
                    del bundle[0]
            root = context.root
        except etree.XMLSyntaxError as error:
            yield SourceRecord(Origin(name, error.lineno or 1), "Unknown", error=f"malformed XML: {error.msg}")
            return
        if root is None or root.tag == BUNDLE:
            return
        if not root.tag.startswith(f"{{{FHIR_NS}}}"):
            yield SourceRecord(
                Origin(name, root.sourceline or 1), local_name(root), error=f"not FHIR XML: root element {root.tag!r}"
            )
            return
        yield _one(root, Origin(name, root.sourceline or 1))


def _one(element: Any, origin: Origin) -> SourceRecord:
    resource_type = local_name(element)
    try:
        return SourceRecord(origin, resource_type, resource=resource_json(element))
    except ValueError as error:
        return SourceRecord(origin, resource_type, error=str(error), raw=_excerpt(element))


def _entry(entry: Any, name: str, index: int) -> Iterator[SourceRecord]:
    origin = Origin(name, entry.sourceline or 1, f"entry[{index}]")
    holder = entry.find(f"{{{FHIR_NS}}}resource")
    resource = next(iter(holder), None) if holder is not None else None
    while resource is not None and not isinstance(resource.tag, str):
        resource = resource.getnext()  # skip comments and processing instructions
    if resource is None:
        if entry.find(f"{{{FHIR_NS}}}request") is not None:
            return  # a DELETE or conditional request: nothing to harmonize
        yield SourceRecord(origin, "Unknown", error="Bundle entry without a resource", raw=_excerpt(entry))
        return
    if local_name(resource) == "Bundle":
        for nested_index, nested in enumerate(resource.iterfind(ENTRY)):
            for record in _entry(nested, name, nested_index):
                detail = f"{origin.detail}.resource.entry[{nested_index}]"
                yield SourceRecord(
                    Origin(name, record.origin.line, detail),
                    record.resource_type,
                    record.resource,
                    record.error,
                    record.raw,
                )
        return
    yield _one(resource, origin)
