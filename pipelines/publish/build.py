"""Publish one release: gather each source's stage outputs and facts, check, document, seal."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from fhirmony.config import ProjectConfig, SourceConfig
from fhirmony.home import Home
from fhirmony.progress import Emit, stderr_emit
from fhirmony.publish.release import (
    MANIFEST,
    DataFile,
    build_catalog,
    copy_tables,
    finalize,
    list_releases,
    new_release_id,
    staging_folder,
    write_manifest,
)
from fhirmony.quarantine import read_quarantine, reason_class
from fhirmony.stages.deidentified import STAGE as DEIDENTIFIED
from fhirmony.stages.harmonized import output_schema
from fhirmony.stages.quality import stored_results
from fhirmony.views import CompiledView

QUARANTINE_SAMPLES = 20


class ReleaseBlocked(RuntimeError):
    """A fatal release-level check failed: nothing was published."""


@dataclass
class PublishOutcome:
    release_id: str
    path: Path
    manifest: dict[str, Any]
    release_checks: int = 0
    release_failures: list[dict[str, Any]] = field(default_factory=list)


def _read_json(path: Path, default: Any) -> Any:
    return orjson.loads(path.read_bytes()) if path.exists() else default


def source_facts(home: Home, source: SourceConfig) -> dict[str, Any]:
    """What the manifest says of one source: identity, licence, and counts that reconcile."""
    landing = _read_json(home.stage("landing", source.id) / "manifest.json", {})
    fhir = _read_json(home.stage("fhir", source.id) / "counts.json", {})
    harmonized = _read_json(home.stage("harmonized", source.id) / "counts.json", {})
    quarantined = fhir.get("quarantined", 0) + sum(t.get("quarantined", 0) for t in harmonized.values())
    return {
        "id": source.id,
        "name": source.name or source.id,
        "country": source.country,
        "format": source.format,
        "licence": source.licence,
        "files": len(landing.get("files", [])),
        "bytes": landing.get("bytes", 0),
        "fingerprint": landing.get("fingerprint"),
        "counts": {
            "read": fhir.get("read", 0),
            "valid": fhir.get("valid", 0),
            "quarantined": fhir.get("quarantined", 0),
            "reconciles": fhir.get("read", 0) == fhir.get("valid", 0) + fhir.get("quarantined", 0),
            "by_type": fhir.get("by_type", {}),
            "tables": harmonized,
        },
        "quarantined": quarantined,
        "quarantine_reasons": fhir.get("quarantine_reasons", {}),
        "coverage": fhir.get("coverage", {}),
    }


def quarantine_summary(home: Home, config: ProjectConfig) -> dict[str, Any]:
    """Per source: rejected records by stage, type and reason, with a sample of each reason."""
    summary: dict[str, Any] = {}
    for source in config.sources:
        reasons: dict[str, dict[str, Any]] = {}
        for path in sorted(home.quarantine(source.id).glob("*.ndjson")):
            for record in read_quarantine(path):
                key = f"{record['stage']}|{record['resource_type']}|{reason_class(record['reason'])}"
                entry = reasons.setdefault(
                    key,
                    {
                        "stage": record["stage"],
                        "resource_type": record["resource_type"],
                        "reason": reason_class(record["reason"]),
                        "count": 0,
                        "samples": [],
                    },
                )
                entry["count"] += 1
                if len(entry["samples"]) < QUARANTINE_SAMPLES:
                    entry["samples"].append(
                        {
                            "file": record["file"],
                            "line": record["line"],
                            "detail": record["detail"],
                            "reason": record["reason"],
                        }
                    )
        summary[source.id] = sorted(reasons.values(), key=lambda e: -e["count"])
    return summary


def publish_release(
    config: ProjectConfig, home: Home, views: list[CompiledView], *, emit: Emit | None = None
) -> PublishOutcome:
    """Build `releases/<id>/` from every source's deidentified tables; returns where and what."""
    from fhirmony.privacy import column_plan, k_anonymity_report, load_key, load_profile, redact_quarantine_summary
    from fhirmony.publish.croissant import write_croissant
    from fhirmony.publish.datasheet import write_datasheet
    from fhirmony.publish.licences import derive_licence
    from fhirmony.quality import CheckResult, run_release_checks, write_report, write_results
    from fhirmony.views.dictionary import write_data_dictionary

    say = emit or stderr_emit()
    tables = [view.name for view in views]
    release_id = new_release_id(config.release.name, config.release.version)
    previous = list_releases(home)
    staging = staging_folder(home, release_id)
    try:
        say(f"[release] {release_id}: writing Parquet")
        data_files = copy_tables(home, config, tables, staging, DEIDENTIFIED)
        profile = load_profile(config.privacy.profile)
        say("[release] measuring re-identification risk (k-anonymity, l-diversity)")
        privacy = k_anonymity_report(staging / "data", profile, k=config.privacy.k_threshold)
        privacy["columns"] = {view.name: column_plan(view.name, output_schema(view), profile) for view in views}
        build_catalog(staging, tables)
        say("[release] running release-level checks")
        results = [CheckResult.from_dict(r) for source in config.sources for r in stored_results(home, source.id)]
        release_results = run_release_checks(staging / "data")
        failures = [r.to_dict() for r in release_results if r.status in ("failed", "error")]
        fatal = [r for r in failures if r["severity"] == "fatal"]
        if fatal:
            names = ", ".join(f"{r['check']} on {r['table']}" for r in fatal)
            raise ReleaseBlocked(f"release {release_id} not published: fatal release checks failed: {names}")
        write_results(staging, results + release_results)
        redacted = redact_quarantine_summary(quarantine_summary(home, config), load_key(config.privacy))
        (staging / "quality" / "quarantine.json").write_bytes(orjson.dumps(redacted, option=orjson.OPT_INDENT_2))
        sources = [source_facts(home, source) for source in config.sources]
        licence, attribution = derive_licence(config.sources, declared=config.release.licence)
        manifest = {
            "id": release_id,
            "name": config.release.name,
            "version": config.release.version,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "publisher": config.release.publisher,
            "contact": config.release.contact,
            "description": config.release.description,
            "licence": licence,
            "attribution": attribution,
            "fhir": {"version": "4.0.1", "validated_with": "fhir.resources.R4B (FHIR 4.3.0 models)"},
            "privacy": privacy,
            "sources": sources,
            "tables": _table_facts(data_files, views),
            "previous_release": previous[0]["id"] if previous else None,
        }
        hashed = write_manifest(staging, manifest)  # the datasheet and Croissant read it
        answers = _steward_answers(config)
        write_data_dictionary(views, staging / "data_dictionary.md")
        write_datasheet(staging, answers)
        write_croissant(staging, answers)
        write_report(staging, previous=Path(previous[0]["path"]) if previous else None)
        write_manifest(staging, manifest, known=hashed)
        final = finalize(staging, home, release_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"[release] published {final}")
    return PublishOutcome(
        release_id, final, orjson.loads((final / MANIFEST).read_bytes()), len(release_results), failures
    )


def _table_facts(data_files: list[DataFile], views: list[CompiledView]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    facts: dict[str, Any] = {}
    for view in views:
        files = [f for f in data_files if f.table == view.name]
        rows_by_country: dict[str, int] = {}
        for f in files:
            rows_by_country[f.country] = rows_by_country.get(f.country, 0) + pq.ParquetFile(f.path).metadata.num_rows
        columns = (
            [{"name": c.name, "type": str(c.type)} for c in pq.ParquetFile(files[0].path).schema_arrow] if files else []
        )
        facts[view.name] = {
            "resource": view.resource,
            "view": view.definition.get("url"),
            "rows": sum(rows_by_country.values()),
            "rows_by_country": rows_by_country,
            "columns": columns,
        }
    return facts


def _steward_answers(config: ProjectConfig) -> dict[str, Any] | None:
    import yaml

    path = config.release.datasheet
    if path is None:
        return None
    if not path.exists():
        raise FileNotFoundError(f"{config.path}: release.datasheet: not found: {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
