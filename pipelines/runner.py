"""Materialize the asset graph through Dagster, recording runs under `$FHIRMONY_HOME/dagster`.

The CLI and the Dagster UI run the same assets: one run of the per-source job per source partition
(landing → fhir → harmonized → deidentified, with the quality asset checks), then one release run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from fhirmony.assets.graph import RELEASE_JOB, SOURCE_JOB, build_definitions
from fhirmony.config import ProjectConfig, SourceConfig
from fhirmony.home import Home
from fhirmony.progress import Emit, stderr_emit
from fhirmony.publish.build import source_facts
from fhirmony.stages.quality import stored_results

CONSOLE_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class SourceSummary:
    source_id: str
    country: str
    success: bool
    read: int = 0
    harmonized: int = 0
    quarantined: int = 0
    checks: int = 0
    checks_failed: int = 0
    fatal_failed: int = 0
    error: str | None = None


@dataclass
class RunSummary:
    sources: list[SourceSummary] = field(default_factory=list)
    release_path: Path | None = None
    release_error: str | None = None

    @property
    def success(self) -> bool:
        return all(s.success for s in self.sources) and self.release_path is not None


def dagster_instance(home: Home) -> dg.DagsterInstance:
    """The persistent Dagster instance in `$FHIRMONY_HOME/dagster` (the UI reads the same one)."""
    home.dagster.mkdir(parents=True, exist_ok=True)
    settings = home.dagster / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home.dagster)
    return dg.DagsterInstance.get()


def run_pipeline(
    config: ProjectConfig, home: Home, *, source_ids: list[str] | None = None, emit: Emit | None = None
) -> RunSummary:
    """Run every selected source's partition, then publish a release if every source succeeded."""
    say = emit or stderr_emit()
    instance = dagster_instance(home)
    defs = build_definitions(config, home)
    selected = [config.source(sid) for sid in source_ids] if source_ids else list(config.sources)
    summary = RunSummary()
    source_job = defs.resolve_job_def(SOURCE_JOB)
    for source in selected:
        say(f"[{source.id}] {source.country} {source.format}: {source.path}")
        result = source_job.execute_in_process(
            partition_key=source.id, instance=instance, run_config=CONSOLE_LOGS, raise_on_error=False
        )
        summary.sources.append(_summarize(home, source, result))
    if not all(s.success for s in summary.sources):
        summary.release_error = "not published: a source run failed (see above)"
        return summary
    say("[release] publishing")
    result = defs.resolve_job_def(RELEASE_JOB).execute_in_process(
        instance=instance, run_config=CONSOLE_LOGS, raise_on_error=False
    )
    if result.success:
        materialization = result.get_asset_materialization_events()[0].materialization
        summary.release_path = Path(str(materialization.metadata["path"].value))
    else:
        summary.release_error = _first_failure(result) or "release run failed"
    return summary


def _summarize(home: Home, source: SourceConfig, result: Any) -> SourceSummary:
    counts = source_facts(home, source)["counts"]
    checks = stored_results(home, source.id)
    failed = [r for r in checks if r["status"] in ("failed", "error")]
    return SourceSummary(
        source_id=source.id,
        country=source.country,
        success=result.success,
        read=counts["read"],
        harmonized=counts["valid"],
        quarantined=counts["quarantined"],
        checks=len(checks),
        checks_failed=len(failed),
        fatal_failed=sum(1 for r in failed if r["severity"] == "fatal"),
        error=None if result.success else _first_failure(result),
    )


def _first_failure(result: Any) -> str | None:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            return f"{event.step_key}: {error.message.strip() if error else 'failed'}"
    return None


def format_summary(summary: RunSummary) -> str:
    """The end-of-run table: per source read, harmonized, quarantined, checks failed."""
    header = ("source", "country", "read", "harmonized", "quarantined", "checks failed", "status")
    rows = [
        (
            s.source_id,
            s.country,
            f"{s.read:,}",
            f"{s.harmonized:,}",
            f"{s.quarantined:,}",
            f"{s.checks_failed}/{s.checks}" + (f" ({s.fatal_failed} fatal)" if s.fatal_failed else ""),
            "ok" if s.success else "FAILED",
        )
        for s in summary.sources
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for s in summary.sources:
        if s.error:
            lines.append(f"{s.source_id}: {s.error}")
    return "\n".join(lines)
