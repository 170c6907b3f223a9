"""Run the fhir stage for one source: read → normalize → validate (process pool) → per-type NDJSON.

Memory stays flat: records stream from the reader in batches, at most `2 × workers` batches are in
flight, and results are written in submission order (the output is deterministic). The only state
that grows, the index of (type, id) digests used to quarantine duplicate ids, lives on disk (SQLite).
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from fhirmony.config import SourceConfig
from fhirmony.fhir.seen import SeenIds
from fhirmony.fhir.validate import validation_problem
from fhirmony.home import Home
from fhirmony.progress import Emit, Progress
from fhirmony.quarantine import QuarantineWriter, Rejection
from fhirmony.sources import SourceRecord, reader_for
from fhirmony.terminology import CoverageStats, Normalizer, SourceHints, resolve_hints

STAGE = "fhir"
BATCH_SIZE = 500
SMALL_INPUT_BYTES = 16 << 20
ORIGINS = ".origins.tsv"  # beside each <Type>.ndjson: line N holds the source file, line and detail of resource N

# What a worker returns for one record: (resource_type, id, file, line, detail, json, problem).
# json is the normalized resource (valid) or the original (rejected); problem is None when valid.
Outcome = tuple[str, str, str, int, str, bytes, str | None]


@dataclass
class TypeCounts:
    read: int = 0
    valid: int = 0
    quarantined: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"read": self.read, "valid": self.valid, "quarantined": self.quarantined}


@dataclass
class FhirStageResult:
    source_id: str
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    coverage: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # resource type -> NDJSON path
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(c.read for c in self.counts.values())

    @property
    def valid(self) -> int:
        return sum(c.valid for c in self.counts.values())

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "read": self.read,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "by_type": {name: counts.to_dict() for name, counts in sorted(self.counts.items())},
            "quarantine_reasons": dict(self.quarantine_reasons.most_common()),
            "coverage": self.coverage,
            "seconds": round(self.seconds, 3),
        }


def validate_batch(
    batch: list[tuple[str, str, int, str, dict[str, Any]]], hints: SourceHints | None = None
) -> tuple[list[Outcome], CoverageStats]:
    """Worker: normalize (with the source's terminology `hints`) and validate a batch of resources;
    returns outcomes and coverage stats."""
    normalizer, stats = _normalizer(), CoverageStats()
    outcomes: list[Outcome] = []
    for resource_type, file, line, detail, resource in batch:
        resource_id = str(resource.get("id") or "")
        try:
            resource = normalizer.normalize(resource, stats, hints)
        except Exception as error:  # a terminology failure quarantines the record, never the run
            problem = f"normalization failed: {error}"
            outcomes.append((resource_type, resource_id, file, line, detail, orjson.dumps(resource), problem))
            continue
        problem = validation_problem(resource)
        outcomes.append((resource_type, resource_id, file, line, detail, orjson.dumps(resource), problem))
    return outcomes, stats


_NORMALIZER: Normalizer | None = None


def _normalizer() -> Normalizer:
    """The terminology normalizer of this process, built once."""
    global _NORMALIZER
    if _NORMALIZER is None:
        _NORMALIZER = Normalizer.from_environment()
    return _NORMALIZER


def run_fhir_stage(
    source: SourceConfig,
    home: Home,
    *,
    workers: int | None = None,
    emit: Emit | None = None,
) -> FhirStageResult:
    """Validate every record of a source; valid ones to `stages/fhir/<source>/<Type>.ndjson`."""
    out_dir = home.stage(STAGE, source.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("*.ndjson"), *out_dir.glob(f"*{ORIGINS}")]:
        old.unlink()
    result = FhirStageResult(source.id)
    progress = Progress(source.id, STAGE, emit)
    coverage = CoverageStats()  # merged as batches arrive: memory stays flat
    handles: dict[str, IO[bytes]] = {}
    reader = reader_for(source)
    worker_count = workers or default_workers(sum(path.stat().st_size for path in reader.files()))
    try:
        with (
            QuarantineWriter(home.quarantine(source.id) / f"{STAGE}.ndjson") as quarantine,
            _executor(worker_count) as pool,
            SeenIds(out_dir / "seen-ids.sqlite") as seen,
        ):
            records = reader.records()
            hints = resolve_hints(source.coding, source.units)
            validated = _validated(records, pool, worker_count, result, quarantine, hints)
            for outcomes, stats in validated:
                coverage.merge(stats)
                valid = [(o[0], o[1], o[5], f"{o[2]}:{o[3]}") for o in outcomes if o[6] is None]
                duplicate = iter(seen.duplicates(valid))
                for resource_type, _, file, line, detail, body, problem in outcomes:
                    counts = result.counts.setdefault(resource_type, TypeCounts())
                    counts.read += 1
                    problem = problem or next(duplicate)
                    if problem:
                        counts.quarantined += 1
                        raw = body.decode("utf-8", "replace")
                        quarantine.write(Rejection(STAGE, source.id, resource_type, file, line, problem, detail, raw))
                        continue
                    counts.valid += 1
                    handle = handles.get(resource_type)
                    if handle is None:
                        handle = handles[resource_type] = (out_dir / f"{resource_type}.ndjson").open("wb")
                        handles[f"{resource_type}.origins"] = (out_dir / f"{resource_type}{ORIGINS}").open("wb")
                        result.files[resource_type] = str(out_dir / f"{resource_type}.ndjson")
                    handle.write(body + b"\n")
                    handles[f"{resource_type}.origins"].write(f"{file}\t{line}\t{detail}\n".encode())
                progress.advance(result.read - progress.count)  # reader errors count too
            result.quarantine_reasons = quarantine.by_reason
    finally:
        for handle in handles.values():
            handle.close()
    result.coverage = coverage.to_dict()
    result.seconds = progress.elapsed
    progress.done(f"{result.valid:,} valid, {result.quarantined:,} quarantined")
    (out_dir / "counts.json").write_bytes(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2))
    return result


def _validated(
    records: Iterable[SourceRecord],
    pool: Executor,
    workers: int,
    result: FhirStageResult,
    quarantine: QuarantineWriter,
    hints: SourceHints,
) -> Iterator[tuple[list[Outcome], CoverageStats]]:
    """Submit batches to the pool with bounded look-ahead; yield outcomes in submission order.

    Records the reader could not turn into a resource are quarantined here, in the parent.
    """
    pending: deque[Future] = deque()
    iterator = iter(records)
    while True:
        batch = []
        taken = 0
        for record in islice(iterator, BATCH_SIZE):
            taken += 1
            if record.resource is None:
                counts = result.counts.setdefault(record.resource_type, TypeCounts())
                counts.read += 1
                counts.quarantined += 1
                quarantine.write(
                    Rejection(
                        STAGE,
                        result.source_id,
                        record.resource_type,
                        record.origin.file,
                        record.origin.line,
                        record.error or "unreadable record",
                        record.origin.detail,
                        record.raw,
                    )
                )
                continue
            origin = record.origin
            batch.append((record.resource_type, origin.file, origin.line, origin.detail, record.resource))
        if batch:
            pending.append(pool.submit(validate_batch, batch, hints))
        exhausted = taken == 0
        while pending and (len(pending) >= 2 * workers or exhausted):
            yield pending.popleft().result()
        if exhausted:
            return


def default_workers(input_bytes: int) -> int:
    """Every core for large inputs; one (in this process) below SMALL_INPUT_BYTES, where starting
    worker processes that import the FHIR models costs more than it saves."""
    if input_bytes < SMALL_INPUT_BYTES:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


class _InlineExecutor(Executor):
    """One worker: run batches in this process (no start-up cost, easier to debug)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def _executor(workers: int) -> Executor:
    return _InlineExecutor() if workers == 1 else ProcessPoolExecutor(max_workers=workers)


def output_files(home: Home, source_id: str) -> dict[str, Path]:
    """Resource type -> NDJSON file of a source's fhir stage."""
    directory = home.stage(STAGE, source_id)
    return {path.stem: path for path in sorted(directory.glob("*.ndjson"))}


def source_origins(ndjson_path: Path, lines: set[int]) -> dict[int, tuple[str, int, str]]:
    """Map lines of a fhir-stage NDJSON file back to (source file, line, detail) of the original record."""
    found: dict[int, tuple[str, int, str]] = {}
    origins = ndjson_path.with_name(ndjson_path.name.removesuffix(".ndjson") + ORIGINS)
    if not lines or not origins.exists():
        return found
    with origins.open("r", encoding="utf-8") as handle:
        for number, row in enumerate(handle, start=1):
            if number in lines:
                file, line, detail = row.rstrip("\n").split("\t", 2)
                found[number] = (file, int(line), detail)
                if len(found) == len(lines):
                    break
    return found
