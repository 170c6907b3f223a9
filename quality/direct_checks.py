"""Checks Great Expectations cannot express on one batch: Arrow schema checks, and cross-table
checks (reference integrity, events against the patient's life and the encounter's period,
sex-specific codes) computed with Arrow compute or DuckDB over the given related tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.quality.frames import sample_ids
from fhirmony.quality.model import SAMPLE_SIZE, CheckSpec

_TEXT_FORMATS = {
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": (
        r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?)?)?$"
    ),
    "number": r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$",
    "integer": r"^[+-]?[0-9]+$",
    "boolean": r"^(true|false)$",
}


@dataclass
class DirectOutcome:
    violating: int = 0
    total: int = 0
    sample: list[str] = field(default_factory=list)
    engine: str = "arrow"
    message: str = ""
    not_applicable: bool = False


def type_matches(family: str, dtype: pa.DataType) -> bool:
    """Whether an Arrow type belongs to a catalogue type family."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    checks = {
        "string": pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype),
        "date": pa.types.is_date(dtype),
        "datetime": pa.types.is_timestamp(dtype) or pa.types.is_date(dtype),
        "number": pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype),
        "integer": pa.types.is_integer(dtype),
        "boolean": pa.types.is_boolean(dtype),
    }
    if family not in checks:
        raise ValueError(f"unknown type family {family!r} (one of {sorted(checks)})")
    return checks[family]


def check_datatype(spec: CheckSpec, column: pa.ChunkedArray, ids: pa.ChunkedArray | None) -> DirectOutcome:
    """Type conformance from the Arrow schema; text columns are checked value by value."""
    family = str(spec.params["type"])
    total = len(column) - column.null_count
    if type_matches(family, column.type):
        return DirectOutcome(0, total, engine="arrow", message=f"Arrow type {column.type}")
    if type_matches("string", column.type) and family in _TEXT_FORMATS:
        bad = pc.invert(pc.match_substring_regex(column, _TEXT_FORMATS[family]))
        violating = int(pc.sum(pc.fill_null(bad, False)).as_py() or 0)
        sample = sample_ids(ids, bad, SAMPLE_SIZE) if ids is not None and violating else []
        return DirectOutcome(violating, total, sample, "arrow", f"text column ({column.type}) holding {family} values")
    valid = pc.is_valid(column)
    sample = sample_ids(ids, valid, SAMPLE_SIZE) if ids is not None else []
    return DirectOutcome(total, total, sample, "arrow", f"Arrow type {column.type} is not {family}")


def check_foreign_key(spec: CheckSpec, table: pa.Table, ref: pa.ChunkedArray) -> DirectOutcome:
    """Non-null references that do not exist in the referenced table's key column."""
    column = table.column(spec.field)
    if ref.type != column.type:  # compare as text: a wrongly typed key is the datatype check's finding
        column, ref = pc.cast(column, pa.string()), pc.cast(ref, pa.string())
    keys = pc.unique(ref)
    missing = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=keys.drop_null())))
    violating = int(pc.sum(missing).as_py() or 0)
    sample = sample_ids(table.column("id"), missing, SAMPLE_SIZE) if violating and "id" in table.column_names else []
    return DirectOutcome(violating, len(column) - column.null_count, sample, "arrow")


# ---- DuckDB: joins with the patient and encounter tables ----------------------------------------


_PATIENT = "t JOIN p ON t.patient_id::VARCHAR = p.id::VARCHAR"


def _count_sql(scope: str, violation: str, key: str = "t.id") -> tuple[str, str]:
    counts = f"SELECT count(*) FILTER (WHERE {violation}), count(*) FROM {scope}"
    sample = f"SELECT CAST({key} AS VARCHAR) FROM {scope} AND ({violation}) LIMIT {SAMPLE_SIZE}"
    return counts, sample


def duckdb_sql(spec: CheckSpec, columns: Mapping[str, str]) -> tuple[str, str]:
    """(counts SQL, sample SQL) over views t (this table), p (patient), e (encounter); keys are
    compared as text, so a wrongly typed key (flagged by `datatype`) does not break the join."""
    p = spec.params
    f = f't."{spec.field}"'
    has_id = "id" in columns
    key = "t.id" if has_id else "NULL"
    if spec.check == "plausible_after_birth":
        scope = f"{_PATIENT} WHERE {f} IS NOT NULL AND p.birth_date IS NOT NULL"
        return _count_sql(scope, f"{f} < p.birth_date", key)
    if spec.check == "plausible_before_death":
        scope = f"{_PATIENT} WHERE {f} IS NOT NULL AND p.deceased_date IS NOT NULL"
        return _count_sql(scope, f"{f} > p.deceased_date + INTERVAL {int(p['grace_days'])} DAY", key)
    if spec.check == "within_visit_dates":
        grace = f"INTERVAL {int(p['grace_days'])} DAY"
        scope = f"t JOIN e ON t.encounter_id::VARCHAR = e.id::VARCHAR WHERE {f} IS NOT NULL AND e.start IS NOT NULL"
        violation = f'{f} < e.start - {grace} OR {f} > coalesce(e."end", e.start) + {grace}'
        return _count_sql(scope, violation, key)
    if spec.check == "plausible_gender":
        systems = ", ".join(_quote(u) for u in p.get("system_uris", []))
        in_system = f" AND t.system IN ({systems})" if "system" in columns and systems else ""
        scope = f"{_PATIENT} WHERE regexp_matches({f}, {_quote(p['code_regex'])}){in_system}"
        violation = f"p.gender IN ('male', 'female') AND p.gender <> {_quote(p['gender'])}"
        return _count_sql(scope, violation, key)
    if spec.check == "measure_person_completeness":
        scope = "p WHERE p.id IS NOT NULL"
        violation = "p.id::VARCHAR NOT IN (SELECT patient_id::VARCHAR FROM t WHERE patient_id IS NOT NULL)"
        return _count_sql(scope, violation, "p.id")
    raise ValueError(f"no DuckDB query for check type {spec.check!r}")


def run_duckdb(
    spec: CheckSpec, table: pa.Table, related: Mapping[str, pa.Table], columns: Mapping[str, str]
) -> DirectOutcome:
    """Evaluate one cross-table check; `table` and `related` carry canonical column names."""
    counts_sql, sample_sql = duckdb_sql(spec, columns)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        for alias, name in (("p", "patient"), ("e", "encounter")):
            if name in related:
                con.register(alias, related[name])
        row = con.execute(counts_sql).fetchone()
        violating, total = (int(row[0]), int(row[1])) if row else (0, 0)
        sample = [r[0] for r in con.execute(sample_sql).fetchall() if r[0] is not None] if violating else []
    finally:
        con.close()
    return DirectOutcome(violating, total, sample, "duckdb")


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"
