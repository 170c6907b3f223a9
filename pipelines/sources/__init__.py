"""Source readers: one module per `format:`; importing this package registers them all."""

from fhirmony.sources import csv_mapping, fhir_bundle, fhir_ndjson, fhir_xml, mimic, omop, synthea_csv  # noqa: F401  (registration)
from fhirmony.sources.base import Origin, Reader, SourceRecord, reader_for, register_reader

__all__ = ["Origin", "Reader", "SourceRecord", "reader_for", "register_reader"]
