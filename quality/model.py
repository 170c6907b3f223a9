"""The records the quality engine passes around: a resolved check (`CheckSpec`) and its outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Status = Literal["passed", "failed", "not_applicable", "error"]
Severity = Literal["fatal", "convention", "characterization"]
Category = Literal["conformance", "completeness", "plausibility"]

STATUSES: tuple[Status, ...] = ("passed", "failed", "not_applicable", "error")
SEVERITIES: tuple[Severity, ...] = ("fatal", "convention", "characterization")
CATEGORIES: tuple[Category, ...] = ("conformance", "completeness", "plausibility")
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class CheckSpec:
    """One resolved check: a check type applied to one table (and field) with its parameters."""

    check_id: str
    check: str
    table: str
    field: str | None
    category: Category
    subcategory: str
    severity: Severity
    context: str
    threshold: float
    description: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    scope: Literal["table", "release"] = "table"


@dataclass
class CheckResult:
    """The outcome of one check on one source (the `quality/results.json` contract)."""

    check_id: str
    check: str
    table: str
    field: str | None
    source_id: str
    country: str
    category: str
    subcategory: str
    severity: str
    context: str
    status: Status
    violating: int
    total: int
    threshold: float
    description: str = ""
    message: str = ""
    sample: list[str] = field(default_factory=list)
    engine: str = ""
    seconds: float = 0.0

    @property
    def share(self) -> float:
        """Share of violating rows (0 when nothing was checked)."""
        return self.violating / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Tolerant of missing optional keys and of unknown extra keys (older or newer writers)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values.setdefault("check_id", _default_id(data))
        values.setdefault("country", "")
        values.setdefault("subcategory", "")
        values.setdefault("context", "")
        return cls(**values)

    @classmethod
    def for_spec(cls, spec: CheckSpec, *, source_id: str, country: str, **outcome: Any) -> CheckResult:
        return cls(
            check_id=spec.check_id,
            check=spec.check,
            table=spec.table,
            field=spec.field,
            source_id=source_id,
            country=country,
            category=spec.category,
            subcategory=spec.subcategory,
            severity=spec.severity,
            context=spec.context,
            threshold=spec.threshold,
            description=spec.description,
            **outcome,
        )


def _default_id(data: dict[str, Any]) -> str:
    column = f".{data['field']}" if data.get("field") else ""
    return f"{data.get('check', '?')}:{data.get('table', '?')}{column}"


def judge(violating: int, total: int, threshold: float) -> Status:
    """passed when the share of violating rows is at most the threshold; no rows → not_applicable."""
    if total <= 0:
        return "not_applicable"
    return "failed" if violating / total > threshold else "passed"
