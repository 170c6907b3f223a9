"""Benchmark: the whole quality catalogue over a synthetic harmonized observation table
(default 1M rows), against the same rules written directly as DuckDB SQL.

    python benchmarks/bench_quality.py [--rows N] [--out benchmarks/results/bench_quality.json]

Writes seconds, seconds per million rows and the catalogue/DuckDB ratio as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from fhirmony.quality import load_catalogue, run_table_checks
from fhirmony.quality.model import CheckSpec
from fhirmony.quality.ucum import valid_units

LOINC = "http://loinc.org"
OUT = Path(__file__).resolve().parent / "results" / "bench_quality.json"


def synthetic(rows: int, patients: int, seed: int = 7) -> dict[str, pa.Table]:
    """Observation rows over the catalogue's labs with ~1 % planted defects, plus patient and
    encounter tables, with the harmonized view's column names."""
    rng = np.random.default_rng(seed)
    labs = load_catalogue().labs
    lab = rng.integers(0, len(labs), rows)
    codes = np.array([str(x["code"]) for x in labs], dtype=object)[lab]
    units = np.array([x["unit"] for x in labs], dtype=object)[lab]
    low = np.array([float(x["low"]) for x in labs])[lab]
    high = np.array([float(x["high"]) for x in labs])[lab]
    values = low + (high - low) * rng.random(rows) * 0.5
    defect = rng.random(rows)
    values[defect < 0.01] = high[defect < 0.01] * 3
    units[(defect >= 0.01) & (defect < 0.02)] = "mcg"
    pid = rng.integers(0, patients, rows)
    start = np.datetime64("2015-01-01T00:00:00", "us")
    effective = start + (rng.integers(0, 8 * 365 * 86400, rows) * 1_000_000).astype("timedelta64[us]")
    status = np.where(defect > 0.995, "bogus", "final").astype(object)
    obs = pa.table(
        {
            "id": pa.array([f"o{i}" for i in range(rows)]),
            "patient_id": pa.array([f"p{i}" for i in pid]),
            "encounter_id": pa.array([f"e{i}" for i in pid]),
            "status": pa.array(status, pa.string()),
            "category": pa.array(np.full(rows, "laboratory", dtype=object), pa.string()),
            "code": pa.array(codes, pa.string()),
            "code_system": pa.array(np.full(rows, LOINC, dtype=object), pa.string()),
            "value_quantity": pa.array(values),
            "value_unit_code": pa.array(units, pa.string()),
            "effective_date": pa.array(effective, pa.timestamp("us", tz="UTC")),
            "source_id": pa.array(np.full(rows, "bench", dtype=object), pa.string()),
            "country": pa.array(np.full(rows, "DE", dtype=object), pa.string()),
        }
    )
    birth = np.datetime64("1940-01-01", "D") + rng.integers(0, 60 * 365, patients).astype("timedelta64[D]")
    patient = pa.table(
        {
            "id": [f"p{i}" for i in range(patients)],
            "gender": pa.array(np.where(rng.random(patients) < 0.5, "male", "female").astype(object), pa.string()),
            "birth_date": pa.array(birth, pa.date32()),
            "deceased_date": pa.nulls(patients, pa.timestamp("us", tz="UTC")),
        }
    )
    encounter = pa.table(
        {
            "id": [f"e{i}" for i in range(patients)],
            "period_start": pa.array(np.full(patients, start), pa.timestamp("us", tz="UTC")),
            "period_end": pa.array(
                np.full(patients, start + np.timedelta64(9 * 365, "D")), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    return {"observation": obs, "patient": patient, "encounter": encounter}


def duckdb_baseline(tables: dict[str, pa.Table], specs: list[CheckSpec]) -> tuple[float, int]:
    """The same per-row rules as hand-written DuckDB SQL, one aggregate query per check (UCUM
    validity, like the catalogue, from the distinct units parsed once; timed with the queries)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    col = {
        "id": "id", "patient_id": "patient_id", "encounter_id": "encounter_id", "status": "status",
        "category": "category", "code": "code", "system": "code_system", "value": "value_quantity",
        "unit": "value_unit_code", "effective": "effective_date", "source_id": "source_id", "country": "country",
    }  # fmt: skip
    started = time.perf_counter()
    units = [r[0] for r in con.execute("SELECT DISTINCT value_unit_code FROM observation").fetchall()]
    ucum = valid_units(units)
    queries = []
    for s in specs:
        f, p = col.get(s.field or "", s.field), s.params
        q = _sql(s.check, f, p, col, ucum)
        if q:
            queries.append(q)
    for q in queries:
        con.execute(q).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, len(queries)


def _sql(check: str, f: str, p: dict, col: dict[str, str], ucum: list[str]) -> str | None:
    o = "observation"
    lit = lambda v: "'" + str(v).replace("'", "''") + "'"  # noqa: E731
    if check in ("is_required", "measure_value_completeness"):
        return f"SELECT count(*) FILTER (WHERE {f} IS NULL), count(*) FROM {o}"
    if check == "is_primary_key":
        return f"SELECT sum(n) FROM (SELECT count(*) n FROM {o} WHERE {f} IS NOT NULL GROUP BY {f} HAVING n > 1)"
    if check == "value_set":
        return f"SELECT count(*) FILTER (WHERE {f} NOT IN ({', '.join(map(lit, p['values']))})), count({f}) FROM {o}"
    if check in ("field_format", "code_format"):
        where = f" WHERE code_system = {lit(p['system_uri'])}" if check == "code_format" else ""
        return (
            f"SELECT count(*) FILTER (WHERE NOT regexp_full_match({f}, {lit(p['regex'])})), count({f}) FROM {o}{where}"
        )
    if check == "ucum_unit":
        return f"SELECT count(*) FILTER (WHERE {f} NOT IN ({', '.join(map(lit, ucum)) or 'NULL'})), count({f}) FROM {o}"
    if check == "standard_code_completeness":
        uris = ", ".join(map(lit, p["system_uris"]))
        return f"SELECT count(*) FILTER (WHERE code_system IS NULL OR code_system NOT IN ({uris})), count(*) FROM {o}"
    if check == "plausible_unit":
        units = ", ".join(map(lit, p["units"]))
        return f"SELECT count(*) FILTER (WHERE {f} NOT IN ({units})), count({f}) FROM {o} WHERE code = {lit(p['code'])}"
    if check == "plausible_value_range":
        return (
            f"SELECT count(*) FILTER (WHERE {f} < {p['low']} OR {f} > {p['high']}), count({f}) FROM {o} "
            f"WHERE code = {lit(p['code'])} AND value_unit_code = {lit(p['lab_unit'])}"
        )
    if check == "no_future_dates":
        return f"SELECT count(*) FILTER (WHERE {f} > now()), count({f}) FROM {o}"
    if check == "duplicate_records":
        cols = ", ".join(col.get(c, c) for c in p["columns"])
        return f"SELECT sum(n) FROM (SELECT count(*) n FROM {o} GROUP BY {cols} HAVING n > 1)"
    if check == "is_foreign_key":
        ref = "patient" if f == "patient_id" else "encounter"
        return f"SELECT count(*) FILTER (WHERE {f} NOT IN (SELECT id FROM {ref})), count({f}) FROM {o}"
    if check == "plausible_after_birth":
        return f"SELECT count(*) FILTER (WHERE {f} < p.birth_date) FROM {o} JOIN patient p ON patient_id = p.id"
    if check == "within_visit_dates":
        return (
            f"SELECT count(*) FILTER (WHERE {f} < e.period_start - INTERVAL 1 DAY "
            f"OR {f} > e.period_end + INTERVAL 1 DAY) FROM {o} JOIN encounter e ON encounter_id = e.id"
        )
    if check == "measure_person_completeness":
        return f"SELECT count(*) FILTER (WHERE id NOT IN (SELECT patient_id FROM {o})) FROM patient"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=0, help="default: rows / 50")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    patients = args.patients or max(args.rows // 50, 10)
    tables = synthetic(args.rows, patients)
    catalogue = load_catalogue()
    specs = catalogue.for_table("observation")
    related = {"patient": tables["patient"], "encounter": tables["encounter"]}

    run_table_checks(
        "observation", tables["observation"].slice(0, 1000), source_id="warm", country="DE", related=related
    )
    started = time.perf_counter()
    results = run_table_checks("observation", tables["observation"], source_id="bench", country="DE", related=related)
    seconds = time.perf_counter() - started

    baseline, queries = duckdb_baseline(tables, specs)
    per_engine: dict[str, float] = {}
    for r in results:
        per_engine[r.engine] = per_engine.get(r.engine, 0.0) + r.seconds
    report = {
        "rows": args.rows,
        "patients": patients,
        "checks": len(results),
        "statuses": {s: sum(r.status == s for r in results) for s in ("passed", "failed", "not_applicable", "error")},
        "catalogue_seconds": round(seconds, 3),
        "catalogue_seconds_per_million_rows": round(seconds / args.rows * 1e6, 3),
        "seconds_by_engine": {k: round(v, 3) for k, v in sorted(per_engine.items())},
        "duckdb_sql_queries": queries,
        "duckdb_sql_seconds": round(baseline, 3),
        "duckdb_sql_seconds_per_million_rows": round(baseline / args.rows * 1e6, 3),
        "ratio_catalogue_to_duckdb": round(seconds / baseline, 2) if baseline else None,
        "target_seconds_per_million_rows": 30,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
