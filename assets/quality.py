"""Quality checks as blocking Dagster asset checks, one per deidentified table and source.

A failed fatal check fails the asset check with severity ERROR, which blocks the release; failed
convention or characterization checks fail it with severity WARN, which does not.
"""

import warnings
from collections import Counter

import dagster as dg

from fhirmony.assets.resource import FhirmonyResource
from fhirmony.privacy import load_profile
from fhirmony.stages.quality import run_quality

CHECK_NAME = "quality_catalogue"


def build_quality_checks(partitions: dg.PartitionsDefinition, tables: list[str]) -> list[dg.AssetChecksDefinition]:
    return [_table_check(partitions, table) for table in tables]


def _table_check(partitions: dg.PartitionsDefinition, table: str) -> dg.AssetChecksDefinition:
    # Partitioned asset checks are a Dagster preview; the checks run once per source partition.
    warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec")

    @dg.asset_check(
        asset=dg.AssetKey(["deidentified", table]),
        name=CHECK_NAME,
        blocking=True,
        partitions_def=partitions,
        description=f"The quality catalogue (quality/catalogue) on {table}; fatal failures block the release.",
    )
    def quality_catalogue(context: dg.AssetCheckExecutionContext, fhirmony: FhirmonyResource) -> dg.AssetCheckResult:
        source = fhirmony.source(context.partition_key)
        profile = load_profile(fhirmony.project.privacy.profile)
        results = [r.to_dict() for r in run_quality(source, fhirmony.home, table, profile)]
        failed = [r for r in results if r["status"] in ("failed", "error")]
        fatal = [r for r in failed if r["severity"] == "fatal"]
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if fatal else dg.AssetCheckSeverity.WARN,
            description=f"{len(results)} checks: {len(failed)} failed ({len(fatal)} fatal)",
            metadata={
                "checks": len(results),
                "by_status": dg.MetadataValue.json(dict(Counter(r["status"] for r in results))),
                "fatal_failures": len(fatal),
                "failures": dg.MetadataValue.json(
                    [
                        {k: r.get(k) for k in ("check", "field", "severity", "violating", "total", "threshold")}
                        for r in failed
                    ]
                ),
            },
        )

    return quality_catalogue
