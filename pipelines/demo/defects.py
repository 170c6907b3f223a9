"""Injected defects: their kinds, where the pipeline should catch each, exact-rate scheduling, the truth file.

A record carries at most one defect, so every count in the truth file is exact: a test (or a steward)
can compare what the pipeline quarantined or flagged with what was injected, record by record.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

Stage = Literal["quarantine", "quality"]


@dataclass(frozen=True, slots=True)
class DefectKind:
    name: str
    stage: Stage  # quarantine: the record never becomes a valid resource; quality: a check must flag it
    rate: float  # share of eligible records that carry it
    description: str


KINDS: dict[str, DefectKind] = {
    kind.name: kind
    for kind in (
        DefectKind(
            "malformed_line",
            "quarantine",
            0.003,
            "a line that does not parse: truncated JSON, or a CSV row with the wrong number of fields",
        ),
        DefectKind(
            "missing_required",
            "quarantine",
            0.004,
            "a value FHIR or the mapping requires is absent (Observation.status, Condition.subject, a lab code)",
        ),
        DefectKind(
            "invalid_datatype",
            "quarantine",
            0.004,
            "a value in a local format where FHIR needs its own: US or German dates, a decimal comma, "
            "an impossible or wrongly formatted date in the registry",
        ),
        DefectKind(
            "unmapped_code",
            "quarantine",
            0.003,
            "a local code the mapping's value map does not know (the rule requires a mapping)",
        ),
        DefectKind(
            "duplicate_id",
            "quarantine",
            0.003,
            "a second record with an id already used (the second copy is the defect)",
        ),
        DefectKind(
            "unmapped_concept",
            "quality",
            0.02,
            "an OMOP row with concept_id 0 (no standard concept): only the source value survives, as text",
        ),
        DefectKind(
            "invalid_code",
            "quality",
            0.02,
            "a code in no edition of its system and in no valid code format (ICD-10 with a decimal comma, "
            "lower case or a stray character; LOINC without its hyphen or a local lab code); valid FHIR",
        ),
        DefectKind(
            "out_of_range",
            "quality",
            0.008,
            "an implausible lab value: negative or far above any physiological bound; valid FHIR",
        ),
        DefectKind("future_date", "quality", 0.006, "a clinical date years after the extract date; valid FHIR"),
        DefectKind(
            "missing_patient", "quality", 0.004, "a reference to a patient that is not in the source; valid FHIR"
        ),
        DefectKind(
            "missing_value",
            "quality",
            0.03,
            "a Patient without gender or birth date (optional in FHIR, expected by the checks)",
        ),
    )
}


class Scheduler:
    """Marks exactly one eligible record in every window of `1/rate` records, at a random offset.

    A mark that lands on a record already carrying another defect is deferred to the next eligible one.
    """

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.window = round(1 / rate) if rate > 0 else 0
        self.rng = rng
        self.position = 0
        self.target = self._next_target(0)
        self.pending = False

    def _next_target(self, start: int) -> int:
        return start + self.rng.randrange(self.window) if self.window else -1

    def tick(self) -> bool:
        if not self.window:
            return False
        fire = self.pending or self.position == self.target
        self.pending = False
        self.position += 1
        if self.position % self.window == 0:
            self.target = self._next_target(self.position)
        return fire

    def defer(self) -> None:
        self.pending = True


@dataclass(slots=True)
class SourceTruth:
    """What one source holds: records per type (as its reader yields them) and every injected defect.

    The places of defects are spooled to one JSON-lines file per kind under `spool`, so memory
    stays flat however many patients are generated; `write_json` streams them into truth.json.
    """

    source_id: str
    format: str
    kinds: dict[str, list[str]]  # defect kind -> the slots it is injected into (`Observation.lab`, `Patient`)
    rates: dict[str, float]  # defect kind -> effective rate (the kind's default, overridden and scaled)
    rng: random.Random
    spool: Path
    patients: int = 0
    records: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    _schedulers: dict[str, Scheduler] = field(default_factory=dict)
    _files: dict[str, IO[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        for name in self.kinds:
            self._schedulers[name] = Scheduler(self.rates[name], self.rng)
            self._files[name] = (self.spool / f"{name}.jsonl").open("wb")

    def pick(self, slot: str) -> str | None:
        """The defect to inject into the next record of this slot (None: keep it clean)."""
        chosen = None
        for name, slots in self.kinds.items():
            if slot not in slots:
                continue
            if self._schedulers[name].tick():
                if chosen is None:
                    chosen = name
                else:
                    self._schedulers[name].defer()
        return chosen

    def read(self, resource_type: str, count: int = 1) -> None:
        """Count a record as its reader will yield it (defective or not)."""
        self.records[resource_type] += count

    def log(
        self, kind: str, resource_type: str, file: str, line: int, resource_id: str | None, detail: str = ""
    ) -> None:
        entry: dict[str, Any] = {"file": file, "line": line, "resource_type": resource_type, "id": resource_id}
        if detail:
            entry["detail"] = detail
        self._files[kind].write(orjson.dumps(entry) + b"\n")
        self.counts[kind] += 1
        if KINDS[kind].stage == "quarantine":
            self.quarantined[resource_type] += 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()

    def write_json(self, out: IO[bytes], indent: str = "    ") -> None:
        """This source's entry of truth.json: counts, then every defect kind with its places."""
        summary = {
            "format": self.format,
            "patients": self.patients,
            "records": dict(sorted(self.records.items())),
            "expected_quarantined": dict(sorted(self.quarantined.items())),
        }
        out.write(b"{\n")
        for key, value in summary.items():
            out.write(f'{indent}  "{key}": '.encode() + orjson.dumps(value) + b",\n")
        out.write(f'{indent}  "defects": {{'.encode())
        for number, name in enumerate(self.kinds):
            kind = KINDS[name]
            head = {
                "stage": kind.stage,
                "rate": round(self.rates[name], 6),
                "count": self.counts[name],
                "description": kind.description,
                "injected_into": self.kinds[name],
            }
            out.write((",\n" if number else "\n").encode() + f'{indent}    "{name}": {{\n'.encode())
            for key, value in head.items():
                out.write(f'{indent}      "{key}": '.encode() + orjson.dumps(value) + b",\n")
            out.write(f'{indent}      "where": ['.encode())
            with (self.spool / f"{name}.jsonl").open("rb") as entries:
                for position, line in enumerate(entries):
                    out.write((b",\n" if position else b"\n") + f"{indent}        ".encode() + line.rstrip(b"\n"))
            out.write(f"\n{indent}      ]\n{indent}    }}".encode())
        out.write(f"\n{indent}  }}\n{indent}}}".encode())
