"""Stored results: `quality/results.json`, threshold re-application and release comparison."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fhirmony.quality.model import CheckResult, judge

RESULTS_PATH = Path("quality") / "results.json"


def write_results(release_dir: Path, results: Iterable[CheckResult]) -> Path:
    """Write `release_dir/quality/results.json`: a JSON list, one entry per check run."""
    path = Path(release_dir) / RESULTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [r.to_dict() for r in results]
    path.write_text(json.dumps(entries, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def read_results(path: Path) -> list[CheckResult]:
    """Results from a results.json file, or from a release folder holding quality/results.json.
    Accepts a plain list or an object with a `results` list."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_PATH
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    entries = data.get("results", []) if isinstance(data, dict) else data
    return [CheckResult.from_dict(e) for e in entries]


def apply_thresholds(results: Iterable[CheckResult], overrides: Mapping[str, float]) -> list[CheckResult]:
    """Re-judge stored results with new thresholds, without re-running any check.

    An override key is a check id (``is_required:observation.code``), ``check:table``
    (``plausible_value_range:observation``) or a check type (``value_set``); the most specific wins.
    Only passed and failed results are re-judged; errors and not-applicable stay as they were.
    """
    for key, value in overrides.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"threshold for {key} must be a share in [0, 1], got {value}")
    out = []
    for r in results:
        threshold = next(
            (float(overrides[k]) for k in (r.check_id, f"{r.check}:{r.table}", r.check) if k in overrides), None
        )
        if threshold is None:
            out.append(r)
            continue
        status = judge(r.violating, r.total, threshold) if r.status in ("passed", "failed") else r.status
        out.append(replace(r, threshold=threshold, status=status))
    return out


@dataclass
class Comparison:
    """Failures of this release against the previous one, keyed by (check id, source)."""

    new: list[CheckResult] = field(default_factory=list)
    persisting: list[tuple[CheckResult, CheckResult]] = field(default_factory=list)
    resolved: list[tuple[CheckResult, CheckResult | None]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "persisting": len(self.persisting), "resolved": len(self.resolved)}


def compare_results(current: Iterable[CheckResult], previous: Iterable[CheckResult]) -> Comparison:
    """New failures (failed now, not before), persisting (failed in both, paired now/before) and
    resolved (failed before, not failed now; paired with today's result, None if no longer run)."""
    now = {(r.check_id, r.source_id): r for r in current}
    before = {(r.check_id, r.source_id): r for r in previous}
    comparison = Comparison()
    for key, r in now.items():
        old = before.get(key)
        if r.status == "failed":
            if old is not None and old.status == "failed":
                comparison.persisting.append((r, old))
            else:
                comparison.new.append(r)
    for key, old in before.items():
        if old.status == "failed" and (key not in now or now[key].status != "failed"):
            comparison.resolved.append((old, now.get(key)))
    return comparison


def fatal_failures(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failures that block publishing a release."""
    return [r for r in results if r.severity == "fatal" and r.status == "failed"]
