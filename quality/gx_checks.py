"""Per-table checks expressed as Great Expectations 1.x expectations, validated on one pandas batch.

The expectations of a table are grouped by the rows they apply to (all rows, one LOINC code, one
code system); each group is one suite validated on one batch holding only the columns it uses (GX
hashes every batch). Counts come from GX's BASIC result; GX's row-index lists cost a Python loop
per failing row, so the sample of failing ids is looked up from GX's partial unexpected values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fhirmony.quality.model import SAMPLE_SIZE, CheckSpec
from fhirmony.quality.ucum import valid_units

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

Sampler = Callable[[pd.DataFrame, Mapping[str, Any]], list[str]]


@dataclass
class GxOutcome:
    violating: int = 0
    total: int = 0
    sample: list[str] | None = None
    error: str | None = None


@dataclass
class _Plan:
    spec: CheckSpec
    expectation: Expectation
    count: str  # "all" (nulls count), "nonnull" (nulls ignored) or "missing" (nulls violate)
    sampler: Sampler
    columns: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Identity of the expectation without its meta (equal keys: validate once)."""
        config = self.expectation.dict(exclude={"meta", "id", "notes", "description"})
        return f"{type(self.expectation).__name__}:{sorted(config.items(), key=lambda kv: kv[0])!r}"


@cache
def _batch_definition() -> Any:
    """One ephemeral GX context per process, with a pandas dataframe asset (GX imported lazily)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("fhirmony").add_dataframe_asset("table")
    return asset.add_batch_definition_whole_dataframe("whole")


def run_gx(
    frame: pd.DataFrame, specs: list[tuple[CheckSpec, dict[str, str]]], terms: Mapping[str, Any]
) -> dict[str, GxOutcome]:
    """Validate `specs` (each with its canonical→frame column names) on `frame`; outcomes by check id.

    Checks restricted to some rows (a LOINC code, a code system) are grouped by that scope and
    validated on the scope's rows as their own batch: GX re-evaluates a row_condition for every
    metric of every expectation, which costs more than the checks themselves on large tables.
    """
    now = pd.Timestamp(time.time(), unit="s", tz="UTC")
    outcomes: dict[str, GxOutcome] = {}
    by_scope: dict[tuple[tuple[str, str], ...], list[_Plan]] = {}
    for spec, columns in specs:
        try:
            plan = _plan(spec, columns, frame, terms, now)
        except Exception as exc:
            outcomes[spec.check_id] = GxOutcome(error=f"{type(exc).__name__}: {exc}")
            continue
        by_scope.setdefault(tuple(sorted(_scope(spec, columns).items())), []).append(plan)
    rows = _ScopeIndex(frame)
    for scope, plans in by_scope.items():
        used = sorted({c for p in plans for c in p.columns} | ({"id"} & set(frame.columns)))
        part = rows.select(scope)[used]  # GX hashes every column of a batch: pass only those used
        if len(part) == 0:
            outcomes.update({p.spec.check_id: GxOutcome() for p in plans})
            continue
        outcomes.update(_validate(part, plans))
    return outcomes


class _ScopeIndex:
    """Row positions per value of the columns scopes use, computed once per column."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._positions: dict[str, dict[Any, np.ndarray]] = {}
        self._codes: dict[str, tuple[np.ndarray, dict[Any, int]]] = {}

    def select(self, scope: tuple[tuple[str, str], ...]) -> pd.DataFrame:
        """The rows where every (column, value) of `scope` holds; the first column narrows by its
        group positions, the others filter those positions by factorized codes (no sorting)."""
        if not scope:
            return self.frame
        (first, value), rest = scope[0], scope[1:]
        if first not in self._positions:
            self._positions[first] = self.frame.groupby(first, sort=False, dropna=True).indices
        chosen = self._positions[first].get(value, np.empty(0, dtype=np.intp))
        for column, wanted in rest:
            if column not in self._codes:
                codes, uniques = pd.factorize(self.frame[column], use_na_sentinel=True)
                self._codes[column] = (codes, {v: i for i, v in enumerate(uniques)})
            codes, lookup = self._codes[column]
            chosen = chosen[codes[chosen] == lookup.get(wanted, -2)]
        return self.frame.iloc[np.sort(chosen)]


def _validate(frame: pd.DataFrame, plans: list[_Plan]) -> dict[str, GxOutcome]:
    """One suite on one batch. A suite keeps one of equal expectations (e.g. is_required and
    measure_value_completeness on the same field): validate it once, read it for each check."""
    import great_expectations as gx

    batch_definition = _batch_definition()  # creates the context the suite needs
    first: dict[str, _Plan] = {}
    for plan in plans:
        first.setdefault(plan.key, plan)
    suite = gx.ExpectationSuite(name="fhirmony", expectations=[p.expectation for p in first.values()])
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    validation = batch.validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 20})
    raw = {result.expectation_config.meta["check_id"]: result for result in validation.results}
    outcomes = {}
    for plan in plans:
        result = raw.get(first[plan.key].spec.check_id)
        if result is None:
            outcomes[plan.spec.check_id] = GxOutcome(error="Great Expectations returned no result for this check")
        else:
            outcomes[plan.spec.check_id] = _read(plan, result, frame)
    return outcomes


def _read(plan: _Plan, result: Any, frame: pd.DataFrame) -> GxOutcome:
    info = result.exception_info or {}
    if info.get("raised_exception") or any(isinstance(v, dict) and v.get("raised_exception") for v in info.values()):
        return GxOutcome(error=_exception_message(info))
    stats = result.result or {}
    unexpected = int(stats.get("unexpected_count") or 0)
    elements = int(stats.get("element_count") or 0)
    missing = int(stats.get("missing_count") or 0)
    if plan.count == "all":
        violating, total = unexpected, elements
    elif plan.count == "missing":
        violating, total = unexpected + missing, elements
    else:
        violating, total = unexpected, elements - missing
    sample = plan.sampler(frame, stats)[:SAMPLE_SIZE] if violating else []
    return GxOutcome(violating=violating, total=total, sample=sample)


def _exception_message(info: Mapping[str, Any]) -> str:
    messages = [info.get("exception_message")] + [
        v.get("exception_message") for v in info.values() if isinstance(v, dict)
    ]
    return "; ".join(sorted({str(m) for m in messages if m})) or "Great Expectations raised an exception"


# ---- expectations per check type -------------------------------------------------------------


def _plan(
    spec: CheckSpec, columns: Mapping[str, str], frame: pd.DataFrame, terms: Mapping[str, Any], now: pd.Timestamp
) -> _Plan:
    plan = _expectation(spec, columns, frame, terms, now)
    plan.columns = tuple(sorted(set(columns.values()) | set(plan.columns)))
    return plan


def _day_column(frame: pd.DataFrame, column: str) -> str:
    """A derived column of `column` truncated to the day (FHIR dates and dateTimes compared at the
    coarser precision: an end date of 2020-01-01 is not before a start at 2020-01-01T10:00)."""
    name = f"{column}__day"
    if name not in frame.columns:
        values = frame[column]
        frame[name] = values.dt.floor("D") if pd.api.types.is_datetime64_any_dtype(values) else values
    return name


def _expectation(
    spec: CheckSpec, columns: Mapping[str, str], frame: pd.DataFrame, terms: Mapping[str, Any], now: pd.Timestamp
) -> _Plan:
    from great_expectations import expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    p = spec.params
    col = columns[spec.field] if spec.field else ""
    meta = {"check_id": spec.check_id}
    scope = _scope(spec, columns)
    extra: dict[str, Any] = {"meta": meta}
    check = spec.check
    if check in ("is_required", "measure_value_completeness"):
        return _Plan(spec, gxe.ExpectColumnValuesToNotBeNull(column=col, **extra), "all", _null_sampler(col, scope))
    if check == "is_primary_key":
        return _Plan(spec, gxe.ExpectColumnValuesToBeUnique(column=col, **extra), "nonnull", _dup_sampler([col]))
    if check in ("value_set", "plausible_unit"):
        values = p["values"] if check == "value_set" else p["units"]
        expectation = gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(values), **extra)
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, scope))
    if check in ("field_format", "code_format"):
        expectation = gxe.ExpectColumnValuesToMatchRegex(column=col, regex=p["regex"], **extra)
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, scope))
    if check == "ucum_unit":
        # each distinct unit string is parsed once by the full UCUM grammar; GX counts the rows
        valid = valid_units(frame[col].dropna().unique())
        expectation = gxe.ExpectColumnValuesToBeInSet(column=col, value_set=valid, **extra)
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, scope))
    if check == "standard_code_completeness":
        system = columns["system"]
        expectation = gxe.ExpectColumnValuesToBeInSet(column=system, value_set=list(p["system_uris"]), **extra)
        return _Plan(spec, expectation, "missing", _value_sampler(system, scope, nulls=True))
    if check == "plausible_value_range":
        # rows of the LOINC code (the batch's scope) whose unit is the canonical one
        unit = columns["unit"]
        extra["row_condition"] = Column(unit) == p["lab_unit"]
        expectation = gxe.ExpectColumnValuesToBeBetween(
            column=col, min_value=float(p["low"]), max_value=float(p["high"]), **extra
        )
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, {**scope, unit: p["lab_unit"]}))
    if check == "no_future_dates":
        bound = _bound(frame[col], now + pd.Timedelta(days=int(terms.get("date_shift_days", 0))))
        expectation = gxe.ExpectColumnValuesToBeBetween(column=col, max_value=bound, **extra)
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, scope))
    if check == "plausible_age":
        lowest = now - pd.DateOffset(years=int(p["max_age"]))
        highest = now - pd.DateOffset(years=int(p["min_age"]))
        expectation = gxe.ExpectColumnValuesToBeBetween(
            column=col, min_value=_bound(frame[col], lowest), max_value=_bound(frame[col], highest), **extra
        )
        return _Plan(spec, expectation, "nonnull", _value_sampler(col, scope))
    if check == "plausible_start_before_end":
        start, end = _day_column(frame, col), _day_column(frame, columns[p["end_field"]])
        expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=end, column_B=start, or_equal=True, ignore_row_if="either_value_is_missing", **extra
        )
        plan = _Plan(spec, expectation, "nonnull", _pair_sampler(start, end))
        plan.columns = (start, end)
        return plan
    if check == "duplicate_records":
        names = [columns[c] for c in p["columns"]]
        expectation = gxe.ExpectCompoundColumnsToBeUnique(column_list=names, **extra)
        return _Plan(spec, expectation, "nonnull", _dup_sampler(names))
    raise ValueError(f"no Great Expectations expectation for check type {check!r}")


def _scope(spec: CheckSpec, columns: Mapping[str, str]) -> dict[str, str]:
    """Equality conditions restricting the rows a check applies to (frame column → value)."""
    p = spec.params
    scope: dict[str, str] = {}
    if spec.check == "code_format":
        scope[columns["system"]] = p["system_uri"]
    if spec.check in ("plausible_unit", "plausible_value_range"):
        scope[columns["code"]] = str(p["code"])
        if "system" in columns:
            scope[columns["system"]] = p["loinc_uri"]
    return scope


def _bound(series: pd.Series, moment: pd.Timestamp) -> Any:
    """`moment` comparable with the series' values (tz-aware, naive, or a date)."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return moment.tz_convert(dtype.tz)
    if pd.api.types.is_datetime64_dtype(dtype):
        return moment.tz_convert("UTC").tz_localize(None)
    return moment.date()


# ---- samples of failing ids (only for failed checks) --------------------------------------------


def _scope_mask(frame: pd.DataFrame, scope: Mapping[str, str]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for name, value in scope.items():
        mask &= frame[name].eq(value).fillna(False).astype(bool)
    return mask


def _ids(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    if "id" not in frame.columns:
        return []
    ids = frame.loc[mask, "id"].dropna().astype(str)
    return list(dict.fromkeys(ids.head(SAMPLE_SIZE * 4).tolist()))[:SAMPLE_SIZE]


def _is_null(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _value_sampler(col: str, scope: Mapping[str, str], nulls: bool = False) -> Sampler:
    def sample(frame: pd.DataFrame, stats: Mapping[str, Any]) -> list[str]:
        listed = stats.get("partial_unexpected_list") or []
        values = [v for v in listed if not _is_null(v)]
        hits = frame[col].isin(values)
        if nulls:
            hits |= frame[col].isna()
        return _ids(frame, _scope_mask(frame, scope) & hits.fillna(False).astype(bool))

    return sample


def _null_sampler(col: str, scope: Mapping[str, str]) -> Sampler:
    return lambda frame, _stats: _ids(frame, _scope_mask(frame, scope) & frame[col].isna())


def _pair_sampler(start: str, end: str) -> Sampler:
    def sample(frame: pd.DataFrame, _stats: Mapping[str, Any]) -> list[str]:
        both = frame[start].notna() & frame[end].notna()
        return _ids(frame, both & (frame[end] < frame[start]).fillna(False).astype(bool))

    return sample


def _dup_sampler(names: list[str]) -> Sampler:
    def sample(frame: pd.DataFrame, _stats: Mapping[str, Any]) -> list[str]:
        present = frame[names].notna().any(axis=1)
        return _ids(frame, present & frame.duplicated(subset=names, keep=False))

    return sample
