"""ICD code formats and the ICD-9-CM → ICD-10-CM General Equivalence Mapping (GEM).

The GEM is not bundled: it is read at run time from a folder holding `icd_cm_9_to_10_mapping.csv.gz`
(and optionally `icd10cm-order-*.csv.gz` for displays), e.g. `../shared/data/icd-cm-crosswalk`.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path

GEM_FILE = "icd_cm_9_to_10_mapping.csv.gz"
ORDER_GLOB = "icd10cm-order-*.csv.gz"


def undotted(code: str) -> str:
    return code.replace(".", "").strip().upper()


def dotted_icd10(code: str) -> str:
    """`I2510` → `I25.10` (ICD-10, -CM and -GM put the dot after the category's 3 characters)."""
    code = undotted(code)
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def dotted_icd9_diagnosis(code: str) -> str:
    """`4139` → `413.9`, `E8889` → `E888.9`, `V707` → `V70.7`."""
    code = undotted(code)
    head = 4 if code.startswith("E") else 3
    return f"{code[:head]}.{code[head:]}" if len(code) > head else code


def dotted_icd9_procedure(code: str) -> str:
    """ICD-9-CM volume 3 procedures: `3961` → `39.61`."""
    code = undotted(code)
    return f"{code[:2]}.{code[2:]}" if len(code) > 2 else code


@dataclass(frozen=True, slots=True)
class GemTarget:
    """The ICD-10-CM code an ICD-9-CM code maps to, and how exact the GEM says that is."""

    code: str  # dotted ICD-10-CM
    approximate: bool
    combination: bool  # the GEM maps to several codes together; only the first is kept


@dataclass(slots=True)
class IcdCrosswalk:
    """ICD-9-CM (undotted) → ICD-10-CM target, plus ICD-10-CM displays when the order file is present."""

    targets: dict[str, GemTarget] = field(default_factory=dict)
    no_map: frozenset[str] = frozenset()
    displays: dict[str, str] = field(default_factory=dict)  # undotted ICD-10-CM target → long description
    source: str = ""

    @classmethod
    def load(cls, folder: Path) -> IcdCrosswalk:
        """Read the GEM (25k rows, ~50 ms) and the ICD-10-CM order file from `folder`."""
        targets: dict[str, GemTarget] = {}
        no_map: set[str] = set()
        with gzip.open(folder / GEM_FILE, "rt", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                icd9, icd10, flags = row["icd_9"], row["icd_10"], row["flags"].ljust(5, "0")
                if flags[1] == "1" or icd10 in ("", "NoDx", "NoPCS"):
                    no_map.add(icd9)
                    continue
                if icd9 in targets:
                    continue  # GEM order: the first row of scenario 1, choice list 1 wins
                targets[icd9] = GemTarget(dotted_icd10(icd10), flags[0] == "1", flags[2] == "1")
        wanted = {undotted(target.code) for target in targets.values()}
        displays: dict[str, str] = {}  # only for GEM targets: the normalizer stays small to pickle
        for order_file in sorted(folder.glob(ORDER_GLOB))[-1:]:
            with gzip.open(order_file, "rt", encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row["code"].strip() in wanted:
                        displays[row["code"].strip()] = row["long"].strip()
        return cls(targets, frozenset(no_map - targets.keys()), displays, str(folder))

    def map_icd9(self, code: str) -> GemTarget | None:
        return self.targets.get(undotted(code))

    def display(self, icd10cm: str) -> str | None:
        return self.displays.get(undotted(icd10cm))
