"""The researcher's API over a published release: `load`, `describe`, `diff`.

    import fhirmony
    table = fhirmony.load("my-release-id", "observation", countries=["DE"], split="train")

`release` is a release id under `$FHIRMONY_HOME/releases/` or the path of a release folder.
Only the Parquet files of the requested countries are opened; the split filter is pushed down.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from fhirmony.home import Home
from fhirmony.publish.release import resolve_release

MANIFEST = "manifest.json"
QUALITY_RESULTS = Path("quality") / "results.json"
SPLITS = ("train", "validation", "test")


def release_path(release: str | Path, home: Home | str | Path | None = None) -> Path:
    """The folder of `release`: an existing release folder, or an id under the home's releases."""
    root = home if isinstance(home, Home) else Home(Path(home).resolve()) if home else Home.from_env()
    return resolve_release(root, str(release))


def read_manifest(release_dir: Path) -> dict[str, Any]:
    return json.loads((release_dir / MANIFEST).read_text(encoding="utf-8"))


def read_quality(release_dir: Path) -> list[dict[str, Any]]:
    """quality/results.json as a list of check results (empty when the release has none)."""
    path = release_dir / QUALITY_RESULTS
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("results", []) if isinstance(data, dict) else data


def tables(release_dir: Path) -> list[str]:
    data = release_dir / "data"
    return sorted(p.name for p in data.iterdir() if p.is_dir()) if data.is_dir() else []


def partition_files(release_dir: Path, table: str, countries: Iterable[str] | None = None) -> dict[str, list[Path]]:
    """Parquet files of one table per country (`data/<table>/country=XX/*.parquet`)."""
    table_dir = release_dir / "data" / table
    if not table_dir.is_dir():
        raise ValueError(f"release {release_dir.name} has no table {table!r}; it has: {', '.join(tables(release_dir))}")
    found = {
        d.name.split("=", 1)[1]: sorted(d.glob("*.parquet")) for d in sorted(table_dir.glob("country=*")) if d.is_dir()
    }
    if countries is None:
        return found
    wanted = [countries] if isinstance(countries, str) else list(countries)
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise ValueError(f"table {table!r} has no rows for {unknown}; countries present: {', '.join(found)}")
    return {c: found[c] for c in wanted}


def table_schema(files: Iterable[Path]) -> pa.Schema:
    """The union of the files' schemas (sources may carry different optional columns), plus `country`."""
    schemas = [pq.read_schema(f) for f in files]
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    if "country" not in schema.names:
        schema = schema.append(pa.field("country", pa.string()))
    return schema


def load(
    release: str | Path,
    table: str,
    countries: Iterable[str] | str | None = None,
    split: Iterable[str] | str | None = None,
    home: Home | str | Path | None = None,
    as_pandas: bool = False,
    columns: list[str] | None = None,
) -> Any:
    """One table of a release as a pyarrow Table (or a pandas DataFrame with `as_pandas=True`).

    Only the partitions of `countries` are read; `split` (one name or several) is a pushed-down filter.
    """
    folder = release_path(release, home)
    by_country = partition_files(folder, table, countries)
    files = [f for paths in by_country.values() for f in paths]
    schema = table_schema(files)
    filter_ = None
    if split is not None:
        wanted = [split] if isinstance(split, str) else list(split)
        bad = [s for s in wanted if s not in SPLITS]
        if bad:
            raise ValueError(f"unknown split {bad}; use {', '.join(SPLITS)}")
        if "split" not in schema.names:
            raise ValueError(f"table {table!r} has no split column: it does not belong to patients")
        filter_ = pc.field("split").isin(wanted)
    dataset = ds.dataset(
        [str(f) for f in files],
        schema=schema,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("country", pa.string())]), flavor="hive"),
        partition_base_dir=str(folder / "data" / table),
    )
    result = dataset.to_table(columns=columns, filter=filter_)
    return result.to_pandas() if as_pandas else result


def _split_counts(files: list[Path], column: str = "split") -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in files:
        if column in pq.read_schema(path).names:
            values = pq.read_table(path, columns=[column]).column(column)
            for row in pc.value_counts(values).to_pylist():
                counts[row["values"] or "none"] += row["counts"]
    return dict(counts)


def quality_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of check results by status, and failures by severity."""
    by_status = Counter(r.get("status", "unknown") for r in results)
    failed = Counter(r.get("severity", "unknown") for r in results if r.get("status") == "failed")
    return {"checks": len(results), "by_status": dict(by_status), "failed_by_severity": dict(failed)}


def describe(release: str | Path, home: Home | str | Path | None = None) -> dict[str, Any]:
    """Tables (columns, rows per country, splits), countries, sources, licence, privacy and quality."""
    folder = release_path(release, home)
    manifest = read_manifest(folder)
    described: dict[str, Any] = {}
    for name in tables(folder):
        by_country = partition_files(folder, name)
        files = [f for paths in by_country.values() for f in paths]
        schema = table_schema(files)
        rows = {c: sum(pq.ParquetFile(f).metadata.num_rows for f in paths) for c, paths in by_country.items()}
        described[name] = {
            "rows": sum(rows.values()),
            "rows_by_country": rows,
            "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
            "splits": _split_counts(files) if "split" in schema.names else {},
        }
    countries = sorted({c for t in described.values() for c in t["rows_by_country"]})
    patient = described.get("patient", {})
    privacy = manifest.get("privacy") or {}
    return {
        "id": manifest.get("id", folder.name),
        "version": manifest.get("version"),
        "created": manifest.get("created"),
        "path": str(folder),
        "licence": manifest.get("licence"),
        "attribution": manifest.get("attribution"),
        "sources": manifest.get("sources", []),
        "countries": countries,
        "tables": described,
        "patients_by_split": patient.get("splits", {}),
        "privacy_profile": privacy.get("profile"),
        "privacy_risk": {
            k: (privacy.get("risk") or {}).get(k) for k in ("k", "k_threshold", "patients_below_k", "suppression")
        },
        "quality": quality_summary(read_quality(folder)),
    }


def _quality_key(result: dict[str, Any]) -> str:
    parts = (result.get(k) for k in ("check", "table", "field", "source_id"))
    return "/".join(str(p) for p in parts if p not in (None, ""))


def diff(a: str | Path, b: str | Path, home: Home | str | Path | None = None) -> dict[str, Any]:
    """What changed from release `a` to release `b`: tables, rows per table and country, schema, quality."""
    left, right = describe(a, home), describe(b, home)
    names = sorted(set(left["tables"]) | set(right["tables"]))
    rows: dict[str, dict[str, dict[str, int]]] = {}
    schema: dict[str, dict[str, Any]] = {}
    for name in names:
        ta, tb = left["tables"].get(name, {}), right["tables"].get(name, {})
        ra, rb = ta.get("rows_by_country", {}), tb.get("rows_by_country", {})
        rows[name] = {
            c: {"a": ra.get(c, 0), "b": rb.get(c, 0), "change": rb.get(c, 0) - ra.get(c, 0)}
            for c in sorted(set(ra) | set(rb))
        }
        ca = {c["name"]: c["type"] for c in ta.get("columns", [])}
        cb = {c["name"]: c["type"] for c in tb.get("columns", [])}
        changes = {
            "added": [c for c in cb if c not in ca],
            "removed": [c for c in ca if c not in cb],
            "type_changed": [{"column": c, "a": ca[c], "b": cb[c]} for c in ca if c in cb and ca[c] != cb[c]],
        }
        if any(changes.values()):
            schema[name] = changes
    return {
        "a": left["id"],
        "b": right["id"],
        "tables": {
            "added": [n for n in names if n not in left["tables"]],
            "removed": [n for n in names if n not in right["tables"]],
        },
        "rows": rows,
        "schema": schema,
        "licence": {"a": left["licence"], "b": right["licence"]},
        "quality": _quality_diff(read_quality(release_path(a, home)), read_quality(release_path(b, home))),
    }


def _quality_diff(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    before = {_quality_key(r): r for r in a}
    after = {_quality_key(r): r for r in b}
    changed = []
    for key in sorted(set(before) & set(after)):
        ra, rb = before[key], after[key]
        if ra.get("status") != rb.get("status") or ra.get("violating") != rb.get("violating"):
            changed.append(
                {
                    "check": key,
                    "severity": rb.get("severity"),
                    "status": {"a": ra.get("status"), "b": rb.get("status")},
                    "violating": {"a": ra.get("violating"), "b": rb.get("violating")},
                }
            )
    return {
        "a": quality_summary(a),
        "b": quality_summary(b),
        "newly_failed": [c["check"] for c in changed if c["status"]["b"] == "failed" and c["status"]["a"] != "failed"],
        "fixed": [c["check"] for c in changed if c["status"]["a"] == "failed" and c["status"]["b"] == "passed"],
        "changed": changed,
        "checks_added": sorted(set(after) - set(before)),
        "checks_removed": sorted(set(before) - set(after)),
    }


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_temporal(type_name: str) -> bool:
    return type_name.startswith(("date", "timestamp"))


def release_facts(release: str | Path, home: Home | str | Path | None = None) -> dict[str, Any]:
    """`describe` plus what documentation needs, computed with DuckDB over the Parquet.

    Per table: non-null counts per column (missingness), min/max of every date/timestamp column,
    distinct patients; over the release: individuals, time range (excluding birth dates),
    coding systems (values of `*system` columns) and the age range from birth dates.
    """
    import duckdb

    info = describe(release, home)
    folder = Path(info["path"])
    con = duckdb.connect()
    try:
        individuals: set[str] = set()
        systems: set[str] = set()
        starts: list[Any] = []
        ends: list[Any] = []
        for name, table in info["tables"].items():
            files = [str(f) for paths in partition_files(folder, name).values() for f in paths]
            columns = [c for c in table["columns"] if c["name"] != "country"]
            source = "read_parquet($files, union_by_name = true)"
            bind = {"files": files}
            parts = ["count(*)"] + [f"count({_quote(c['name'])})" for c in columns]
            temporal = [c["name"] for c in columns if _is_temporal(c["type"])]
            parts += [f"min({_quote(c)}), max({_quote(c)})" for c in temporal]
            row = con.execute(f"SELECT {', '.join(parts)} FROM {source}", bind).fetchall()[0]
            total = row[0]
            non_null = dict(zip([c["name"] for c in columns], row[1 : 1 + len(columns)], strict=True))
            table["missing"] = {c: (total - n) / total if total else 0.0 for c, n in non_null.items()}
            ranges = row[1 + len(columns) :]
            table["time_range"] = {c: [_iso(ranges[2 * i]), _iso(ranges[2 * i + 1])] for i, c in enumerate(temporal)}
            for column, (low, high) in table["time_range"].items():
                if column != "birth_date" and low is not None:
                    starts.append(low)
                    ends.append(high)
            for column in (c["name"] for c in columns if c["name"].endswith("system")):
                found = con.execute(f"SELECT DISTINCT {_quote(column)} FROM {source}", bind).fetchall()
                systems.update(str(v) for (v,) in found if v)
            if "patient_id" in non_null:
                ids = con.execute(
                    f"SELECT DISTINCT patient_id FROM {source} WHERE patient_id IS NOT NULL", bind
                ).fetchall()
                table["patients"] = len(ids)
                individuals.update(v for (v,) in ids)
        info["individuals"] = len(individuals)
        info["records"] = sum(t["rows"] for t in info["tables"].values())
        info["coding_systems"] = sorted(systems)
        info["time_range"] = [_day(min(starts, key=_day)), _day(max(ends, key=_day))] if starts else None
        info["age_range"] = _age_range(con, folder, info)
    finally:
        con.close()
    return info


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: str) -> str:
    """The date part of an ISO date or timestamp: dates and timestamps compare as dates."""
    return value[:10]


def _age_range(con: Any, folder: Path, info: dict[str, Any]) -> list[int] | None:
    """Youngest and oldest age, in years, at each patient's last encounter (or at release time).

    Birth and encounter dates move together under a per-patient shift, so the ages are exact up to
    the birth-date precision of the privacy profile.
    """
    columns = {c["name"] for c in info["tables"].get("patient", {}).get("columns", [])}
    if not {"id", "birth_date"} <= columns:
        return None
    patients = [str(f) for paths in partition_files(folder, "patient").values() for f in paths]
    encounter = {c["name"] for c in info["tables"].get("encounter", {}).get("columns", [])}
    last = "SELECT NULL::VARCHAR AS patient_id, NULL::DATE AS t WHERE false"
    bind: dict[str, Any] = {"patients": patients}
    if {"patient_id", "period_start"} <= encounter:
        bind["encounters"] = [str(f) for paths in partition_files(folder, "encounter").values() for f in paths]
        last = (
            "SELECT patient_id, max(period_start)::DATE AS t "
            "FROM read_parquet($encounters, union_by_name = true) GROUP BY patient_id"
        )
    created = str(info.get("created") or "")[:10] or None
    bind["created"] = created
    row = con.execute(
        f"WITH last AS ({last}) SELECT min(age), max(age) FROM ("
        "  SELECT date_diff('year', p.birth_date::DATE, coalesce(last.t, $created::DATE, current_date)) AS age"
        "  FROM read_parquet($patients, union_by_name = true) p LEFT JOIN last ON p.id = last.patient_id"
        "  WHERE p.birth_date IS NOT NULL) WHERE age >= 0",
        bind,
    ).fetchall()[0]
    return None if row[0] is None else [int(row[0]), int(row[1])]
