"""Mapping coverage of a source: standard-system share, unmapped codes, ICD-9 mapping and unit counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

TOP = 20


@dataclass(slots=True)
class CoverageStats:
    """Counts gathered by `Normalizer.normalize`; merge the stats of chunks or workers with `merge`."""

    concepts: Counter[str] = field(default_factory=Counter)  # per resource type: coded elements seen
    standard: Counter[str] = field(default_factory=Counter)  # ... with a coding in a standard system
    systems: Counter[str] = field(default_factory=Counter)  # codings per (canonical) system
    renamed_systems: Counter[str] = field(default_factory=Counter)  # "alias -> uri"
    unmapped: Counter[str] = field(default_factory=Counter)  # "system|code|display" of non-standard codes
    icd9: Counter[str] = field(default_factory=Counter)  # exact, approximate, combination, unmapped, no_gem
    icd9_unmapped: Counter[str] = field(default_factory=Counter)  # ICD-9-CM codes the GEM has no target for
    units: Counter[str] = field(default_factory=Counter)  # quantities, ucum, aliased, not_ucum, converted
    unit_aliases: Counter[str] = field(default_factory=Counter)  # "mEq/L -> meq/L"
    not_ucum: Counter[str] = field(default_factory=Counter)  # unit strings that are not UCUM
    conversions: Counter[str] = field(default_factory=Counter)  # "2345-7: mmol/L -> mg/dL"
    not_convertible: Counter[str] = field(default_factory=Counter)  # "718-7: [IU]/L -> g/dL"
    hinted: Counter[str] = field(default_factory=Counter)  # system, unit: gaps the source's hints filled

    def merge(self, other: CoverageStats) -> CoverageStats:
        for item in fields(self):
            getattr(self, item.name).update(getattr(other, item.name))
        return self

    def to_dict(self, top: int = TOP) -> dict[str, Any]:
        """A JSON-ready summary: totals, shares and the `top` most frequent entries of each list."""
        total, standard = sum(self.concepts.values()), sum(self.standard.values())
        icd9_total = sum(self.icd9.values())
        icd9_mapped = self.icd9["exact"] + self.icd9["approximate"] + self.icd9["combination"]
        quantities = self.units["quantities"]
        return {
            "codes": {
                "total": total,
                "standard": standard,
                "standard_share": _share(standard, total),
                "by_resource_type": {
                    rtype: {"total": n, "standard": self.standard[rtype], "share": _share(self.standard[rtype], n)}
                    for rtype, n in sorted(self.concepts.items())
                },
                "systems": dict(self.systems.most_common()),
                "renamed_systems": dict(self.renamed_systems.most_common(top)),
                "top_unmapped": [_code_entry(key, n) for key, n in self.unmapped.most_common(top)],
            },
            "icd9_to_icd10cm": {
                **{key: self.icd9[key] for key in ("exact", "approximate", "combination", "unmapped", "no_gem")},
                "total": icd9_total,
                "mapped": icd9_mapped,
                "mapped_share": _share(icd9_mapped, icd9_total),
                "top_unmapped": dict(self.icd9_unmapped.most_common(top)),
            },
            "units": {
                **{key: self.units[key] for key in ("quantities", "ucum", "aliased", "not_ucum", "converted")},
                "ucum_share": _share(self.units["ucum"], quantities),
                "aliases": dict(self.unit_aliases.most_common(top)),
                "top_not_ucum": dict(self.not_ucum.most_common(top)),
                "conversions": dict(self.conversions.most_common(top)),
                "not_convertible": dict(self.not_convertible.most_common(top)),
            },
            "hints": {"systems_filled": self.hinted["system"], "units_filled": self.hinted["unit"]},
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _code_entry(key: str, count: int) -> dict[str, Any]:
    system, code, display = ([*key.split("|", 2), "", ""])[:3]
    return {"system": system, "code": code, "display": display, "count": count}
