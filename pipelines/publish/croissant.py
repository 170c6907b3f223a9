"""`croissant.json`: Croissant 1.1 JSON-LD with the RAI fields and HealthDCAT-AP-like health facts.

Everything is read from the release folder (manifest.json, the Parquet under data/, the quality
results); steward answers (the datasheet YAML) fill the RAI fields that facts cannot answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.api import partition_files, read_manifest, release_facts, table_schema
from fhirmony.publish.datasheet import flatten_answers
from fhirmony.publish.licences import LICENCE_URLS

CROISSANT = "croissant.json"
CROISSANT_1_1 = "http://mlcommons.org/croissant/1.1"
RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"
PARQUET = "application/x-parquet"
UNANSWERED = "Not yet answered by the data steward (see datasheet.md)."
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
VALIDATION = "FHIR R4 content validated with fhir.resources R4B (4.3.0 models)"


def data_type(arrow_type: pa.DataType) -> str:
    """The Croissant (schema.org) data type of an Arrow column type."""
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "sc:Float"
    if pa.types.is_date(arrow_type):
        return "sc:Date"
    if pa.types.is_timestamp(arrow_type):
        return "sc:DateTime"
    return "sc:Text"


def _field_description(field: pa.Field) -> str:
    meta = field.metadata or {}
    notes = []
    if meta.get(b"fhirmony:pseudonym"):
        notes.append("keyed HMAC-SHA256 pseudonym")
    if meta.get(b"fhirmony:date_shifted"):
        notes.append("shifted by a per-patient offset")
    if precision := meta.get(b"fhirmony:precision"):
        notes.append(f"precision: {precision.decode()}")
    if field.name == "split":
        notes.append("patient-level split: train, validation or test")
    if field.name == "country":
        notes.append("ISO 3166-1 alpha-2 country of the source (hive partition)")
    return f"{field.name} ({field.type})" + (f": {'; '.join(notes)}" if notes else "")


def _file_objects(release_dir: Path, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One FileObject per Parquet file, with the manifest's sha256 (computed when not listed)."""
    listed = {f["path"]: f for f in manifest.get("files", [])}
    objects = []
    for path in sorted((release_dir / "data").rglob("*.parquet")):
        relative = path.relative_to(release_dir).as_posix()
        entry = listed.get(relative) or {
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
        }
        objects.append(
            {
                "@type": "cr:FileObject",
                "@id": relative,
                "name": relative,
                "contentUrl": relative,
                "encodingFormat": PARQUET,
                "sha256": entry["sha256"],
                "contentSize": f"{entry['bytes']} B",
            }
        )
    return objects


def _record_set(release_dir: Path, table: str, rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The FileSet of one table's partitions and the RecordSet mirroring its Parquet schema."""
    files = [f for paths in partition_files(release_dir, table).values() for f in paths]
    file_set_id = f"parquet-{table}"
    file_set = {
        "@type": "cr:FileSet",
        "@id": file_set_id,
        "name": file_set_id,
        "description": f"Parquet files of table {table}, one folder per country (hive partitioning).",
        "encodingFormat": PARQUET,
        "includes": f"data/{table}/country=*/*.parquet",
    }
    in_files = set().union(*(pq.read_schema(f).names for f in files)) if files else set()
    fields = []
    for field in table_schema(files):
        source: dict[str, Any] = {"fileSet": {"@id": file_set_id}, "extract": {"column": field.name}}
        if field.name not in in_files:  # the partition column lives in the path only
            source = {
                "fileSet": {"@id": file_set_id},
                "extract": {"fileProperty": "fullpath"},
                "transform": {"regex": r".*country=([^/]+)/.*"},
            }
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{table}/{field.name}",
                "name": field.name,
                "description": _field_description(field),
                "dataType": data_type(field.type),
                "source": source,
            }
        )
    record_set = {
        "@type": "cr:RecordSet",
        "@id": table,
        "name": table,
        "description": f"Harmonized table {table} ({rows} rows): one row per FHIR resource or element.",
        "field": fields,
    }
    if any(f["name"] == "id" for f in fields):
        record_set["key"] = {"@id": f"{table}/id"}
    return file_set, record_set


def _answer(answers: Mapping[str, Any], key: str, fallback: str | list[str] | None = None) -> Any:
    value = answers.get(key)
    if value not in (None, ""):
        return value
    return fallback if fallback is not None else UNANSWERED


def _rai(facts: Mapping[str, Any], manifest: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    privacy = manifest.get("privacy") or {}
    steps = privacy.get("steps") or []
    sources = ", ".join(f"{s.get('id')} ({s.get('country')}, {s.get('format')})" for s in facts["sources"])
    missing = {
        f"{table}.{column}": share
        for table, info in facts["tables"].items()
        for column, share in info.get("missing", {}).items()
        if share > 0
    }
    missing_text = "; ".join(f"{k}: {v:.0%} missing" for k, v in sorted(missing.items())) or "no missing values"
    time_range = facts.get("time_range")
    return {
        "rai:dataCollection": _answer(
            answers,
            "collection.acquisition",
            f"Secondary use of existing health records from {len(facts['sources'])} sources: {sources}. "
            "No new data were collected for this release.",
        ),
        "rai:dataCollectionType": _answer(answers, "collection.type", ["Secondary Data analysis"]),
        "rai:dataCollectionMissingData": f"Share of null values per column: {missing_text}.",
        "rai:dataCollectionRawData": "Raw source files are not part of the release; landing manifests keep their "
        "sha256 at the data controller. Records that failed validation were quarantined with the reason.",
        "rai:dataCollectionTimeframe": [time_range[0], time_range[1]] if time_range else UNANSWERED,
        "rai:dataImputationProtocol": "No imputation: missing values stay null.",
        "rai:dataManipulationProtocol": f"Sources mapped to FHIR R4; {VALIDATION}; codes normalized "
        "(ICD-9-CM to ICD-10-CM, LOINC, SNOMED CT, ATC, RxNorm) and units converted to UCUM; "
        "SQL-on-FHIR v2 ViewDefinitions flatten resources into the tables.",
        "rai:dataPreprocessingProtocol": steps or [UNANSWERED],
        "rai:dataAnnotationProtocol": ["No annotation: all values come from the source records."],
        "rai:dataAnnotationPlatform": ["None"],
        "rai:dataAnnotationAnalysis": ["Not applicable: no annotation."],
        "rai:annotationsPerItem": "Not applicable: no annotation.",
        "rai:annotatorDemographics": ["Not applicable: no annotators."],
        "rai:machineAnnotationTools": ["None; terminology mapping uses published crosswalks (CMS GEM)."],
        "rai:dataUseCases": _answer(answers, "uses.tasks", [UNANSWERED]),
        "rai:dataBiases": _answer(answers, "composition.biases", [UNANSWERED]),
        "rai:dataLimitations": _answer(
            answers,
            "uses.risks",
            ["Dates are shifted or generalized per the privacy profile: calendar effects are not preserved."],
        ),
        "rai:dataSocialImpact": _answer(answers, "uses.impact"),
        "rai:personalSensitiveInformation": [
            "Health data (special category, GDPR Art. 9): diagnoses, observations, medications, procedures.",
            f"De-identified with privacy profile {privacy.get('profile', 'unknown')}: {privacy.get('description', '')}",
        ],
        "rai:dataReleaseMaintenancePlan": _answer(
            answers,
            "maintenance.updates",
            "Releases are immutable; every run makes a new release id, and `fhirmony diff` lists the changes.",
        ),
    }


def _health(facts: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """HealthDCAT-AP-like facts: records, individuals, age range, coding systems, population."""
    health: dict[str, Any] = {
        "healthdcatap:numberOfRecords": facts["records"],
        "healthdcatap:numberOfUniqueIndividuals": facts["individuals"],
        "healthdcatap:hasCodingSystem": facts["coding_systems"],
        "healthdcatap:populationCoverage": f"Patients of {len(facts['sources'])} sources in "
        f"{', '.join(facts['countries'])}; split by patient into train/validation/test.",
        "dct:spatial": facts["countries"],
    }
    if facts.get("age_range"):
        health["healthdcatap:minTypicalAge"], health["healthdcatap:maxTypicalAge"] = facts["age_range"]
    return health


def build_croissant(release_dir: Path, answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Croissant document of a release, as a JSON-serializable dict."""
    answers = flatten_answers(answers)
    manifest = read_manifest(release_dir)
    facts = release_facts(release_dir)
    licence = facts.get("licence") or "unknown"
    distribution: list[dict[str, Any]] = _file_objects(release_dir, manifest)
    record_sets = []
    for table, info in facts["tables"].items():
        file_set, record_set = _record_set(release_dir, table, info["rows"])
        distribution.append(file_set)
        record_sets.append(record_set)
    name = manifest.get("name") or manifest.get("id") or release_dir.name
    created = manifest.get("created")
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT_1_1, RAI_1_0],
        "name": str(manifest.get("id") or name),
        "alternateName": str(name),
        "description": manifest.get("description")
        or f"Harmonized, FHIR-aligned, de-identified health data release {manifest.get('id')} made by fhirmony.",
        "version": manifest.get("version") or "0.0.0",
        "dateCreated": created,
        "datePublished": created,
        "license": LICENCE_URLS.get(licence, licence),
        "citeAs": manifest.get("attribution") or name,
        "creditText": manifest.get("attribution"),
        "creator": {"@type": "sc:Organization", "name": manifest.get("publisher") or "unknown"},
        "publisher": {"@type": "sc:Organization", "name": manifest.get("publisher") or "unknown"},
        "keywords": ["FHIR", "health", "electronic health records", "de-identified", *facts["countries"]],
        "isLiveDataset": False,
        "conditionsOfAccess": _answer(answers, "distribution.access", UNANSWERED),
        "temporalCoverage": "/".join(facts["time_range"]) if facts.get("time_range") else None,
        "isBasedOn": [
            {
                "@type": "sc:Dataset",
                "name": s.get("name") or s.get("id"),
                "identifier": s.get("id"),
                "license": LICENCE_URLS.get(str(s.get("licence")), s.get("licence")),
                "spatialCoverage": s.get("country"),
                "encodingFormat": s.get("format"),
            }
            for s in facts["sources"]
        ],
        "prov:wasDerivedFrom": [{"@id": f"source:{s.get('id')}", "name": s.get("id")} for s in facts["sources"]],
        "prov:wasGeneratedBy": {
            "@type": "prov:Activity",
            "name": "fhirmony pipeline run",
            "description": f"landing, FHIR mapping and validation ({VALIDATION}), harmonization with "
            "SQL-on-FHIR v2 views, de-identification, quality checks, release.",
            "prov:endedAtTime": created,
        },
        **_health(facts, manifest),
        **_rai(facts, manifest, answers),
        "distribution": distribution,
        "recordSet": record_sets,
    }
    return {k: v for k, v in document.items() if v is not None}


def write_croissant(release_dir: Path, answers: Mapping[str, Any] | None = None) -> Path:
    """Write `croissant.json` into the release folder (manifest.json must already be there)."""
    path = release_dir / CROISSANT
    document = build_croissant(release_dir, answers)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path
