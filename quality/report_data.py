"""Facts for the steward report read from a release folder, each tolerant of absent inputs:
manifest sources and quarantine counts, quarantine details, missingness and key-lab statistics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from fhirmony.quality.catalogue import Catalogue

MAX_COLUMNS = 40


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is absent or unreadable (reported, never fatal)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def quarantine_rows(manifest: Any, details: Any) -> list[dict[str, Any]]:
    """Rows (source_id, stage, resource_type, reason, count, samples) from quality/quarantine.json
    (a list of entries, an object keyed by source, or one with `entries`/`reasons`/`sources`); for
    sources it does not cover, from manifest `sources[].quarantine_reasons` or `sources[].quarantined`
    (a number, a {reason: count} mapping or a list of entries)."""
    detailed = _entries(details, {}) if details is not None else []
    covered = {r["source_id"] for r in detailed}
    rows = list(detailed)
    for source in _sources(manifest):
        source_id = source.get("id", "?")
        if source_id in covered:
            continue
        reasons = source.get("quarantine_reasons")
        value = reasons if isinstance(reasons, Mapping | list) and reasons else source.get("quarantined")
        rows.extend(_entries(value, {"source_id": source_id}))
    return sorted(rows, key=lambda r: (str(r["source_id"]), -int(r["count"] or 0)))


def _sources(manifest: Any) -> list[dict[str, Any]]:
    if isinstance(manifest, Mapping) and isinstance(manifest.get("sources"), list):
        return [s for s in manifest["sources"] if isinstance(s, Mapping)]
    return []


def _entries(value: Any, base: Mapping[str, Any]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, int | float):
        return [_row(base, {"reason": "(total)", "count": value})] if value else []
    if isinstance(value, list):
        return [_row(base, e) for e in value if isinstance(e, Mapping)]
    if isinstance(value, Mapping):
        for key in ("entries", "reasons", "records"):
            if isinstance(value.get(key), list | Mapping):
                return _entries(value[key], base)
        if isinstance(value.get("sources"), list | Mapping):
            sources = value["sources"]
            if isinstance(sources, Mapping):
                return [r for sid, v in sources.items() for r in _entries(v, {**base, "source_id": sid})]
            return [r for s in sources if isinstance(s, Mapping) for r in _entries(s, base)]
        if all(isinstance(v, int | float) for v in value.values()):
            return [_row(base, {"reason": k, "count": v}) for k, v in value.items()]
        if "reason" in value or "count" in value:
            return [_row(base, value)]
        return [r for k, v in value.items() for r in _entries(v, {**base, "source_id": k})]
    return []


def _row(base: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    count = entry.get("count", entry.get("records", entry.get("n", 1)))
    return {
        "source_id": entry.get("source_id", entry.get("source", base.get("source_id", "?"))),
        "stage": entry.get("stage", ""),
        "resource_type": entry.get("resource_type", entry.get("type", "")),
        "reason": str(entry.get("reason", entry.get("detail", "(unspecified)"))),
        "count": int(count) if isinstance(count, int | float) else 1,
        "samples": [x for x in entry.get("samples", []) if isinstance(x, Mapping)][:3],
    }


def mapping_coverage(manifest: Any) -> dict[str, Any]:
    """Mapping coverage per source, from `sources[].mapping_coverage` (or `coverage`, `mapping`)
    or a top-level `mapping_coverage` object keyed by source."""
    found: dict[str, Any] = {}
    for source in _sources(manifest):
        for key in ("mapping_coverage", "coverage", "mapping"):
            if isinstance(source.get(key), Mapping):
                found[str(source.get("id", "?"))] = source[key]
                break
    if isinstance(manifest, Mapping) and isinstance(manifest.get("mapping_coverage"), Mapping):
        for sid, value in manifest["mapping_coverage"].items():
            found.setdefault(str(sid), value)
    return found


def _tables(data_dir: Path) -> dict[str, str]:
    if not data_dir.is_dir():
        return {}
    return {
        p.name: str(p / "**" / "*.parquet").replace("'", "''")
        for p in sorted(data_dir.iterdir())
        if p.is_dir() and any(p.rglob("*.parquet"))
    }


def missingness(data_dir: Path) -> dict[str, tuple[list[str], dict[str, dict[str, float]]]]:
    """table → (countries, column → {country → share of nulls})."""
    out: dict[str, tuple[list[str], dict[str, dict[str, float]]]] = {}
    con = duckdb.connect()
    try:
        for table, glob in _tables(data_dir).items():
            source = f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
            if "country" not in columns:
                continue
            shown = [c for c in columns if c not in ("country", "source_id")][:MAX_COLUMNS]
            nulls = ", ".join(f'avg(CASE WHEN "{c}" IS NULL THEN 1.0 ELSE 0.0 END)' for c in shown)
            rows = con.execute(f"SELECT country, {nulls} FROM {source} GROUP BY country ORDER BY country").fetchall()
            countries = [str(r[0]) for r in rows]
            shares = {c: {str(r[0]): float(r[i + 1]) for r in rows} for i, c in enumerate(shown)}
            out[table] = (countries, shares)
    finally:
        con.close()
    return out


def lab_distributions(data_dir: Path, catalogue: Catalogue) -> list[tuple[dict[str, Any], dict[str, dict[str, float]]]]:
    """For each key lab of labs.yaml: per country n and p5/p25/p50/p75/p95 in the canonical unit."""
    glob = _tables(data_dir).get("observation")
    if glob is None:
        return []
    con = duckdb.connect()
    try:
        source = f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        code, value, unit = (catalogue.column("observation", n, columns) for n in ("code", "value", "unit"))
        if not (code and value and unit and "country" in columns):
            return []
        labs = [lab for lab in catalogue.labs if lab.get("key")]
        codes = ", ".join("'" + str(lab["code"]) + "'" for lab in labs)
        quantiles = ", ".join(f'quantile_cont("{value}", {q})' for q in (0.05, 0.25, 0.5, 0.75, 0.95))
        rows = con.execute(
            f'SELECT "{code}", "{unit}", country, count("{value}"), {quantiles} FROM {source} '
            f'WHERE "{code}" IN ({codes}) AND "{value}" IS NOT NULL GROUP BY ALL ORDER BY country'
        ).fetchall()
    finally:
        con.close()
    result = []
    for lab in labs:
        stats = {
            str(r[2]): dict(zip(("n", "p5", "p25", "p50", "p75", "p95"), map(float, r[3:]), strict=True))
            for r in rows
            if r[0] == str(lab["code"]) and r[1] == lab["unit"]
        }
        if stats:
            result.append((lab, stats))
    return result


def time_coverage(data_dir: Path, catalogue: Catalogue) -> list[dict[str, Any]]:
    """Per table and country: the first event date field of the table (tables.yaml order), its
    earliest and latest value and how many rows carry it (data currency, for timeliness)."""
    rows: list[dict[str, Any]] = []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table, glob in _tables(data_dir).items():
            if table == "patient":
                continue
            source = f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
            fields = [f for f in catalogue.tables.get(table, {}).values() if f.type in ("date", "datetime")]
            column = next((c for f in fields if (c := f.column_in(columns))), None)
            if column is None or "country" not in columns:
                continue
            found = con.execute(
                f'SELECT country, min("{column}")::DATE, max("{column}")::DATE, count("{column}"), count(*) '
                f"FROM {source} GROUP BY country ORDER BY country"
            ).fetchall()
            for country, first, last, dated, total in found:
                rows.append(
                    {"table": table, "field": column, "country": str(country), "first": first, "last": last,
                     "dated": int(dated), "rows": int(total)}
                )  # fmt: skip
    finally:
        con.close()
    return rows
