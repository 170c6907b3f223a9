"""Re-identification risk over the released patient table: k-anonymity, l-diversity, suppression."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.privacy.profiles import Profile

AGE_BAND_YEARS = 10
UNKNOWN = "unknown"


@dataclass
class RiskResult:
    """The report (for manifest["privacy"]["risk"]) and the patients in classes smaller than k."""

    report: dict[str, Any]
    below_k: set[str] = field(default_factory=set)


def age_band(birth: dt.date | None, today: dt.date, top: int | None = 90) -> str:
    """`0-9`, `10-19`, ... and `90+` (or `<top>+`); `unknown` when there is no birth date."""
    if birth is None:
        return UNKNOWN
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if top is not None and age >= top:
        return f"{top}+"
    low = max(age, 0) // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


def quasi_identifier_keys(patient: pa.Table, profile: Profile, today: dt.date) -> tuple[list[str], list[tuple]]:
    """The quasi-identifiers present in `patient`, and each row's combination of their values."""
    names: list[str] = []
    columns: list[list[str]] = []
    for name, column in profile.quasi_identifiers.items():
        if column not in patient.column_names:
            continue
        values = patient.column(column).to_pylist()
        if name == "age_band":
            births = [v.date() if isinstance(v, dt.datetime) else v for v in values]
            columns.append([age_band(b, today, profile.age_top_code or 90) for b in births])
        else:
            columns.append([UNKNOWN if v is None else str(v) for v in values])
        names.append(name)
    return names, list(zip(*columns, strict=True)) if columns else [() for _ in range(patient.num_rows)]


def measure_risk(
    patient: pa.Table,
    profile: Profile,
    k: int | None = None,
    sensitive: pa.Table | None = None,
    today: dt.date | None = None,
) -> RiskResult:
    """k-anonymity (smallest class over the quasi-identifiers) and l-diversity of `sensitive`.

    `patient` is the de-identified patient table of the whole release (ids are pseudonyms).
    `sensitive` is the profile's sensitive table (e.g. condition) with `patient_id` and the
    sensitive column; l is the fewest distinct sensitive values in any class that has some
    (classes without any value disclose nothing and are counted apart).
    """
    threshold = k or profile.k
    today = today or dt.date.today()
    names, keys = quasi_identifier_keys(patient, profile, today)
    ids = [str(v) for v in patient.column("id").to_pylist()]
    sizes = Counter(keys)
    below_k = {pid for pid, key in zip(ids, keys, strict=True) if sizes[key] < threshold}
    report: dict[str, Any] = {
        "quasi_identifiers": names,
        "quasi_identifiers_missing": [n for n in profile.quasi_identifiers if n not in names],
        "k_threshold": threshold,
        "patients": len(ids),
        "classes": len(sizes),
        "k": min(sizes.values()) if sizes else None,
        "classes_below_k": sum(1 for size in sizes.values() if size < threshold),
        "patients_below_k": len(below_k),
        "l_diversity": _l_diversity(ids, keys, profile, sensitive),
        "suppression": {"enabled": profile.suppress_below_k, "patients_suppressed": 0},
    }
    return RiskResult(report=report, below_k=below_k)


def _l_diversity(ids: list[str], keys: list[tuple], profile: Profile, sensitive: pa.Table | None) -> dict[str, Any]:
    if profile.sensitive is None or sensitive is None:
        return {"attribute": None, "l": None}
    table_name, column = profile.sensitive
    attribute = f"{table_name}.{column}"
    if column not in sensitive.column_names or "patient_id" not in sensitive.column_names:
        return {"attribute": attribute, "l": None, "note": f"{attribute} or its patient_id is absent"}
    class_of = dict(zip(ids, keys, strict=True))
    values: dict[tuple, set[str]] = defaultdict(set)
    pairs = zip(sensitive.column("patient_id").to_pylist(), sensitive.column(column).to_pylist(), strict=True)
    for pid, value in pairs:
        if pid in class_of and value is not None:
            values[class_of[pid]].add(str(value))
    per_class = [len(values[key]) for key in set(keys) if values.get(key)]
    return {
        "attribute": attribute,
        "l": min(per_class) if per_class else None,
        "classes_with_l_below_2": sum(1 for n in per_class if n < 2),
        "classes_without_values": len(set(keys)) - len(per_class),
    }


def suppress(table: pa.Table, patients: Collection[str]) -> pa.Table:
    """Drop the rows of `patients` (pseudonyms) from any table with `patient_id`; others unchanged."""
    if not patients or "patient_id" not in table.column_names:
        return table
    drop = pc.is_in(table.column("patient_id"), value_set=pa.array(sorted(patients), pa.string()))
    return table.filter(pc.invert(pc.fill_null(drop, False)))


def apply_suppression(tables: dict[str, pa.Table], risk: RiskResult, profile: Profile) -> dict[str, pa.Table]:
    """When the profile suppresses below k: remove those patients from every table, and say so."""
    if not profile.suppress_below_k or not risk.below_k:
        return tables
    risk.report["suppression"]["patients_suppressed"] = len(risk.below_k)
    return {name: suppress(table, risk.below_k) for name, table in tables.items()}
