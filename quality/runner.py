"""Run the catalogue on one harmonized table of one source: `run_table_checks`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyarrow as pa

from fhirmony.quality.catalogue import Catalogue, load_catalogue
from fhirmony.quality.direct_checks import DirectOutcome, check_datatype, check_foreign_key, run_duckdb
from fhirmony.quality.frames import UTC_US, project
from fhirmony.quality.model import CheckResult, CheckSpec, judge

# Fields of related tables the cross-table checks read (required, optional).
_RELATED_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "plausible_after_birth": (("id", "birth_date"), ()),
    "plausible_before_death": (("id", "deceased_date"), ()),
    "plausible_gender": (("id", "gender"), ()),
    "measure_person_completeness": (("id",), ()),
    "within_visit_dates": (("id", "start"), ("end",)),
}
_RELATED_TABLE = {"within_visit_dates": "encounter"}


@dataclass
class _Resolved:
    spec: CheckSpec
    columns: dict[str, str]  # canonical field → column of the table
    related: dict[str, dict[str, str]] = field(default_factory=dict)  # table → canonical → column
    reason: str = ""


@cache
def default_catalogue() -> Catalogue:
    return load_catalogue()


def run_table_checks(
    table_name: str,
    table: pa.Table,
    *,
    source_id: str,
    country: str,
    related: Mapping[str, pa.Table] | None = None,
    catalogue: Catalogue | None = None,
    date_shift_days: int = 0,
) -> list[CheckResult]:
    """Every catalogue check of `table_name` on `table` (one source); cross-table checks use
    `related` (e.g. {"patient": ..., "encounter": ...}) and are not_applicable without it.

    `date_shift_days`: on de-identified tables whose dates were shifted by up to this many days
    (the privacy profile's max_shift_days), dates up to that far after today are not "future".
    """
    catalogue = catalogue or default_catalogue()
    related = dict(related or {})
    resolved = [_resolve(spec, table, related, catalogue) for spec in catalogue.for_table(table_name)]
    outcomes: dict[str, CheckResult] = {}
    ready = [r for r in resolved if not r.reason]
    for r in resolved:
        if r.reason:
            outcomes[r.spec.check_id] = _result(r.spec, source_id, country, "not_applicable", message=r.reason)
    gx_ready = [r for r in ready if r.spec.params["engine"] == "great_expectations"]
    outcomes.update(_run_gx(gx_ready, table, source_id, country, date_shift_days))
    for r in ready:
        if r.spec.params["engine"] != "great_expectations":
            outcomes[r.spec.check_id] = _run_direct(r, table, related, source_id, country)
    return [outcomes[r.spec.check_id] for r in resolved]


def _resolve(spec: CheckSpec, table: pa.Table, related: Mapping[str, pa.Table], catalogue: Catalogue) -> _Resolved:
    names = table.column_names
    columns: dict[str, str] = {}
    required, optional = _own_fields(spec)
    for name in (*required, *optional, "id"):
        column = catalogue.column(spec.table, name, names)
        if column is not None:
            columns[name] = column
        elif name in required:
            info = catalogue.field(spec.table, name)
            looked = ", ".join((info.name, *info.aliases))
            return _Resolved(spec, columns, reason=f"field {name} absent from {spec.table} (looked for {looked})")
    out = _Resolved(spec, columns)
    if spec.check == "measure_person_completeness" and table.num_rows == 0:
        out.reason = f"{spec.table} is empty: no person completeness to measure"
        return out
    for ref_table, (ref_required, ref_optional) in _related_fields(spec).items():
        other = related.get(ref_table)
        if other is None:
            out.reason = f"needs the {ref_table} table (pass related={{'{ref_table}': ...}})"
            return out
        mapping: dict[str, str] = {}
        for name in (*ref_required, *ref_optional):
            column = catalogue.column(ref_table, name, other.column_names)
            if column is not None:
                mapping[name] = column
            elif name in ref_required:
                out.reason = f"field {name} absent from the related {ref_table} table"
                return out
        out.related[ref_table] = mapping
    return out


def _own_fields(spec: CheckSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) canonical fields of the checked table."""
    p, f = spec.params, spec.field or "id"
    own: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "code_format": ((f, "system"), ()),
        "standard_code_completeness": ((f, "system"), ()),
        "plausible_unit": ((f, "code"), ("system",)),
        "plausible_value_range": ((f, "code", "unit"), ("system",)),
        "plausible_start_before_end": ((f, str(p.get("end_field"))), ()),
        "duplicate_records": (tuple(p.get("columns", [f])), ()),
        "plausible_after_birth": ((f, "patient_id"), ()),
        "plausible_before_death": ((f, "patient_id"), ()),
        "within_visit_dates": ((f, "encounter_id"), ()),
        "plausible_gender": ((f, "patient_id"), ("system",)),
    }
    return own.get(spec.check, ((f,), ()))


def related_tables(table_name: str, catalogue: Catalogue | None = None) -> set[str]:
    """The other tables the checks of `table_name` read (references, events after birth, ...)."""
    catalogue = catalogue or default_catalogue()
    return {name for spec in catalogue.for_table(table_name) for name in _related_fields(spec)}


def _related_fields(spec: CheckSpec) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    if spec.check == "is_foreign_key":
        return {spec.params["ref_table"]: ((spec.params["ref_field"],), ())}
    if spec.check in _RELATED_FIELDS:
        return {_RELATED_TABLE.get(spec.check, "patient"): _RELATED_FIELDS[spec.check]}
    return {}


def _result(spec: CheckSpec, source_id: str, country: str, status: str, **outcome: Any) -> CheckResult:
    outcome.setdefault("violating", 0)
    outcome.setdefault("total", 0)
    outcome.setdefault("engine", spec.params.get("engine", ""))
    return CheckResult.for_spec(spec, source_id=source_id, country=country, status=status, **outcome)


def _judged(spec: CheckSpec, source_id: str, country: str, violating: int, total: int, **extra: Any) -> CheckResult:
    status = judge(violating, total, spec.threshold)
    if status == "not_applicable":
        extra["message"] = extra.get("message") or "no rows in scope"
    return _result(spec, source_id, country, status, violating=violating, total=total, **extra)


def _run_gx(
    ready: list[_Resolved], table: pa.Table, source_id: str, country: str, shift_days: int
) -> dict[str, CheckResult]:
    if not ready:
        return {}
    from fhirmony.quality.gx_checks import run_gx

    needed: dict[str, str] = {}
    for r in ready:
        needed.update(r.columns)
    started = time.perf_counter()
    try:
        frame = project(table, needed).to_pandas()
        terms = {"date_shift_days": int(shift_days)}
        outcomes = run_gx(frame, [(r.spec, {k: k for k in r.columns}) for r in ready], terms)
    except Exception as exc:
        message = f"Great Expectations validation failed: {type(exc).__name__}: {exc}"
        return {r.spec.check_id: _result(r.spec, source_id, country, "error", message=message) for r in ready}
    share = (time.perf_counter() - started) / len(ready)
    results = {}
    for r in ready:
        o = outcomes[r.spec.check_id]
        if o.error:
            results[r.spec.check_id] = _result(r.spec, source_id, country, "error", message=o.error, seconds=share)
        else:
            note = (
                f"dates may be shifted by up to {shift_days} days"
                if shift_days and r.spec.check == "no_future_dates"
                else ""
            )
            results[r.spec.check_id] = _judged(
                r.spec, source_id, country, o.violating, o.total, sample=o.sample or [], seconds=share, message=note
            )
    return results


def _run_direct(
    r: _Resolved, table: pa.Table, related: Mapping[str, pa.Table], source_id: str, country: str
) -> CheckResult:
    spec = r.spec
    started = time.perf_counter()
    try:
        outcome = _direct(r, table, related)
    except Exception as exc:
        return _result(spec, source_id, country, "error", message=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    return _judged(
        spec,
        source_id,
        country,
        outcome.violating,
        outcome.total,
        sample=outcome.sample,
        engine=outcome.engine,
        message=outcome.message,
        seconds=seconds,
    )


def _direct(r: _Resolved, table: pa.Table, related: Mapping[str, pa.Table]) -> DirectOutcome:
    spec = r.spec
    if spec.check == "datatype":
        ids = table.column(r.columns["id"]) if "id" in r.columns else None
        return check_datatype(spec, table.column(r.columns[spec.field or "id"]), ids)
    own = project(table, r.columns)
    if spec.check == "is_foreign_key":
        ref_table = spec.params["ref_table"]
        ref_column = r.related[ref_table][spec.params["ref_field"]]
        return check_foreign_key(spec, own, related[ref_table].column(ref_column))
    views = {name: _with_optional(project(related[name], cols), spec) for name, cols in r.related.items()}
    return run_duckdb(spec, own, views, r.columns)


def _with_optional(table: pa.Table, spec: CheckSpec) -> pa.Table:
    """Add the optional fields a query names as null columns (e.g. encounter.end)."""
    for name in _RELATED_FIELDS.get(spec.check, ((), ()))[1]:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), UTC_US))
    return table


def run_source_checks(
    tables: Mapping[str, pa.Table],
    *,
    source_id: str,
    country: str,
    catalogue: Catalogue | None = None,
    date_shift_days: int = 0,
) -> list[CheckResult]:
    """Every catalogue check over one source's tables (each table sees the others as `related`);
    the checks of catalogue tables the source lacks are reported not_applicable."""
    catalogue = catalogue or default_catalogue()
    results: list[CheckResult] = []
    for name, table in tables.items():
        results += run_table_checks(
            name,
            table,
            source_id=source_id,
            country=country,
            related=tables,
            catalogue=catalogue,
            date_shift_days=date_shift_days,
        )
    for spec in catalogue.checks:
        if spec.scope == "table" and spec.table not in tables:
            reason = f"table {spec.table} absent from source {source_id}"
            results.append(_result(spec, source_id, country, "not_applicable", message=reason))
    return results
