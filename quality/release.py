"""Global checks over a release's Parquet (data/<table>/country=XX/*.parquet) with DuckDB:
uniqueness across sources, reference integrity across tables, one split per patient."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from fhirmony.quality.catalogue import Catalogue
from fhirmony.quality.model import SAMPLE_SIZE, CheckResult, CheckSpec, judge

RELEASE_SOURCE = "*"


def run_release_checks(data_dir: Path, *, catalogue: Catalogue | None = None) -> list[CheckResult]:
    """Run the catalogue's release-scope checks over `data_dir` (the release's `data/` folder or
    the release folder itself). Results carry source_id and country "*" (the whole release)."""
    from fhirmony.quality.runner import default_catalogue

    catalogue = catalogue or default_catalogue()
    data_dir = Path(data_dir)
    if (data_dir / "data").is_dir():
        data_dir = data_dir / "data"
    con = duckdb.connect()
    try:
        columns = _register_tables(con, data_dir)
        return [_run(con, spec, columns, catalogue) for spec in catalogue.release_checks()]
    finally:
        con.close()


def _register_tables(con: duckdb.DuckDBPyConnection, data_dir: Path) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()) if data_dir.is_dir() else []:
        if not any(folder.rglob("*.parquet")):
            continue
        glob = str(folder / "**" / "*.parquet").replace("'", "''")
        con.execute(
            f'CREATE VIEW "{folder.name}" AS SELECT * FROM '
            f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
        )
        columns[folder.name] = [row[0] for row in con.execute(f'DESCRIBE "{folder.name}"').fetchall()]
    return columns


def _run(
    con: duckdb.DuckDBPyConnection, spec: CheckSpec, columns: dict[str, list[str]], catalogue: Catalogue
) -> CheckResult:
    started = time.perf_counter()

    def result(status: str, violating: int = 0, total: int = 0, **extra: object) -> CheckResult:
        return CheckResult.for_spec(
            spec,
            source_id=RELEASE_SOURCE,
            country=RELEASE_SOURCE,
            status=status,  # type: ignore[arg-type]
            violating=violating,
            total=total,
            engine="duckdb",
            seconds=time.perf_counter() - started,
            **extra,  # type: ignore[arg-type]
        )

    try:
        queries = _queries(spec, columns, catalogue)
        if isinstance(queries, str):
            return result("not_applicable", message=queries)
        counts_sql, sample_sql = queries
        row = con.execute(counts_sql).fetchone()
        violating, total = (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
        sample = [str(r[0]) for r in con.execute(sample_sql).fetchall()] if violating else []
    except Exception as exc:
        return result("error", message=f"{type(exc).__name__}: {exc}")
    status = judge(violating, total, spec.threshold)
    return result(status, violating, total, sample=sample, message="" if total else "no rows in scope")


def _queries(spec: CheckSpec, columns: dict[str, list[str]], catalogue: Catalogue) -> tuple[str, str] | str:
    """(counts SQL, sample SQL), or the reason the check is not applicable."""
    table = spec.table
    if table not in columns:
        return f"table {table} absent from the release"

    def col(tbl: str, name: str) -> str | None:
        found = catalogue.column(tbl, name, columns.get(tbl, []))
        return f'"{found}"' if found else None

    f = col(table, spec.field or "id")
    if f is None:
        return f"field {spec.field} absent from {table}"
    t = f'"{table}"'
    if spec.check == "release_primary_key":
        dup = f"SELECT {f} AS k, count(*) AS n FROM {t} WHERE {f} IS NOT NULL GROUP BY {f} HAVING count(*) > 1"
        counts = f"SELECT (SELECT coalesce(sum(n), 0) FROM ({dup})), (SELECT count({f}) FROM {t})"
        return counts, f"SELECT k FROM ({dup}) ORDER BY n DESC LIMIT {SAMPLE_SIZE}"
    if spec.check == "release_foreign_key":
        ref_table, ref_field = spec.params["ref_table"], spec.params["ref_field"]
        if ref_table not in columns:
            return f"referenced table {ref_table} absent from the release"
        r = col(ref_table, ref_field)
        if r is None:
            return f"field {ref_field} absent from {ref_table}"
        orphan = (
            f'{f} IS NOT NULL AND {f}::VARCHAR NOT IN (SELECT {r}::VARCHAR FROM "{ref_table}" WHERE {r} IS NOT NULL)'
        )
        counts = f"SELECT count(*) FILTER (WHERE {orphan}), count({f}) FROM {t}"
        key = col(table, "id") or f
        return counts, f"SELECT {key} FROM {t} WHERE {orphan} LIMIT {SAMPLE_SIZE}"
    if spec.check == "single_split":
        split = col(table, "split")
        if split is None:
            return f"column split absent from {table}"
        sources = [f"SELECT {f}::VARCHAR AS pid, {split}::VARCHAR AS split FROM {t}"]
        if table != "patient" and "patient" in columns and col("patient", "split") and col("patient", "id"):
            sources.append(f'SELECT {col("patient", "id")}::VARCHAR, {col("patient", "split")}::VARCHAR FROM "patient"')
        union = " UNION ALL ".join(sources)
        mixed = f"SELECT pid FROM ({union}) WHERE pid IS NOT NULL GROUP BY pid HAVING count(DISTINCT split) > 1"
        counts = f"SELECT count(*) FILTER (WHERE {f}::VARCHAR IN ({mixed})), count({f}) FROM {t}"
        return counts, f"{mixed} LIMIT {SAMPLE_SIZE}"
    raise ValueError(f"no release query for check type {spec.check!r}")
