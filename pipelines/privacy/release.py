"""Release-level privacy: measure k-anonymity/l-diversity over all sources, suppress if the profile says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.privacy.profiles import Profile
from fhirmony.privacy.report import privacy_report
from fhirmony.privacy.risk import measure_risk, suppress


def _parts(data_dir: Path, table: str) -> list[Path]:
    return sorted((data_dir / table).glob("country=*/*.parquet"))


def read_table(data_dir: Path, table: str, columns: list[str] | None = None) -> pa.Table | None:
    """All partitions of one table (`data/<table>/country=XX/*.parquet`), `country` from the path if absent."""
    tables = []
    for path in _parts(data_dir, table):
        names = pq.read_schema(path).names
        wanted = [c for c in columns if c in names] if columns else None
        part = pq.read_table(path, columns=wanted)
        if "country" not in part.column_names:
            country = path.parent.name.split("=", 1)[1]
            part = part.append_column("country", pa.array([country] * part.num_rows, pa.string()))
        tables.append(part)
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def suppress_in_place(data_dir: Path, patients: Collection[str]) -> dict[str, int]:
    """Rewrite every Parquet file with `patient_id` without the rows of `patients`; rows removed per table."""
    removed: dict[str, int] = {}
    for table_dir in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        for path in _parts(data_dir, table_dir.name):
            if "patient_id" not in pq.read_schema(path).names:
                continue
            before = pq.read_table(path)
            after = suppress(before, patients)
            if after.num_rows != before.num_rows:
                pq.write_table(after, path, compression="zstd")
                removed[table_dir.name] = removed.get(table_dir.name, 0) + before.num_rows - after.num_rows
    return removed


def k_anonymity_report(
    data_dir: Path, profile: Profile, k: int | None = None, today: dt.date | None = None
) -> dict[str, Any]:
    """manifest["privacy"] for a release whose Parquet is under `data_dir` (`<release>/data`).

    Measures k-anonymity over the profile's quasi-identifiers on the patient table of all sources,
    and l-diversity of its sensitive attribute. When the profile suppresses below k, the patients
    of classes smaller than k are removed from every table **in place** (call it before hashing
    files and before release-level checks), and the risk after suppression is reported too.
    """
    quasi = ["id", *profile.quasi_identifiers.values()]
    patient = read_table(data_dir, "patient", quasi)
    if patient is None or "id" not in patient.column_names:
        return privacy_report(profile, {"note": "no patient table: re-identification risk not measured"})
    sensitive = None
    if profile.sensitive is not None:
        table, column = profile.sensitive
        sensitive = read_table(data_dir, table, ["patient_id", column])
    risk = measure_risk(patient, profile, k=k, sensitive=sensitive, today=today)
    if profile.suppress_below_k and risk.below_k:
        removed = suppress_in_place(data_dir, risk.below_k)
        risk.report["suppression"] = {
            "enabled": True,
            "patients_suppressed": len(risk.below_k),
            "rows_removed": removed,
        }
        remaining = read_table(data_dir, "patient", quasi)
        if remaining is not None and remaining.num_rows:
            after = measure_risk(remaining, profile, k=k, today=today).report
            risk.report["after_suppression"] = {n: after[n] for n in ("patients", "classes", "k", "classes_below_k")}
    return privacy_report(profile, risk.report)
