"""Quarantine: every rejected record, with its reason and origin, one NDJSON file per source and stage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Rejection:
    stage: str
    source_id: str
    resource_type: str
    file: str
    line: int
    reason: str
    detail: str = ""
    raw: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "stage": self.stage,
                "source_id": self.source_id,
                "resource_type": self.resource_type,
                "file": self.file,
                "line": self.line,
                "detail": self.detail,
                "reason": self.reason,
                "raw": self.raw,
            }
        )


@dataclass
class QuarantineWriter:
    """Appends rejections to `quarantine/<source>/<stage>.ndjson` and counts them by type and reason."""

    path: Path
    by_type: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    _handle: Any = None

    def __enter__(self) -> QuarantineWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("wb")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._handle.close()

    def write(self, rejection: Rejection) -> None:
        self._handle.write(rejection.to_json() + b"\n")
        self.by_type[rejection.resource_type] += 1
        self.by_reason[reason_class(rejection.reason)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


def reason_class(reason: str) -> str:
    """A short class for summaries: the reason up to its first colon (`malformed JSON`, ...)."""
    head = reason.split(":", 1)[0].strip()
    return head[:80] or "unknown"


def read_quarantine(path: Path) -> list[dict[str, Any]]:
    """All rejections in one quarantine file (for reports and tests)."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]
