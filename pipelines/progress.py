"""Progress lines for long work: records done and rate, per source and stage, at most every few seconds."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Emit = Callable[[str], None]


def stderr_emit(stream: TextIO = sys.stderr) -> Emit:
    def emit(message: str) -> None:
        print(message, file=stream, flush=True)

    return emit


class Progress:
    """Counts records and reports `[source] stage: N records (R/s)` every `interval` seconds."""

    def __init__(self, source_id: str, stage: str, emit: Emit | None = None, interval: float = 5.0) -> None:
        self.source_id = source_id
        self.stage = stage
        self.emit = emit or stderr_emit()
        self.interval = interval
        self.count = 0
        self.started = time.perf_counter()
        self._last = self.started

    def advance(self, records: int = 1) -> None:
        self.count += records
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self.emit(f"[{self.source_id}] {self.stage}: {self.count:,} records ({self.rate:,.0f}/s)")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def done(self, detail: str = "") -> None:
        suffix = f", {detail}" if detail else ""
        self.emit(
            f"[{self.source_id}] {self.stage}: done, {self.count:,} records in {self.elapsed:.1f}s "
            f"({self.rate:,.0f}/s){suffix}"
        )
