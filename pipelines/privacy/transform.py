"""`deidentify_table`: one harmonized table in, its releasable form out (allow-list, pseudonyms, dates)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fhirmony.privacy.profiles import Profile
from fhirmony.privacy.pseudonyms import assign_split, date_offset_days, pseudonym

log = logging.getLogger(__name__)

PRECISION_KEY = b"fhirmony:precision"
SHIFTED_KEY = b"fhirmony:date_shifted"
PSEUDONYM_KEY = b"fhirmony:pseudonym"
_DIGITS = re.compile(r"\d{3}")


def is_id_column(name: str) -> bool:
    """The columns that are pseudonymised: `id` and every `*_id` except `source_id`."""
    return name == "id" or (name.endswith("_id") and name != "source_id")


def is_temporal(data_type: pa.DataType) -> bool:
    return pa.types.is_date(data_type) or pa.types.is_timestamp(data_type)


def deidentify_table(
    table_name: str, table: pa.Table, profile: Profile, key: bytes, today: dt.date | None = None
) -> pa.Table:
    """Apply `profile` to one table of one source partition; deterministic for a given key.

    Keeps only allow-listed columns, pseudonymises `id`/`*_id`, shifts (or reduces to the year)
    every date and timestamp with one offset per patient, applies the column rules (birth-date,
    zip3, age) and adds `split` where the table has patients. `today` anchors the age rules.
    """
    if "source_id" not in table.column_names:
        raise ValueError(f"table {table_name!r} has no source_id column: ids cannot be namespaced")
    today = today or dt.date.today()
    rules = profile.columns(table_name)
    sources = table.column("source_id").combine_chunks()
    patients = _original_patient_ids(table_name, table)
    offsets = None
    if profile.dates == "shift":
        base = patients if patients is not None else pa.nulls(table.num_rows, pa.string())
        offsets = _map_pairs(
            sources, base, lambda s, p: date_offset_days(key, s, p, profile.max_shift_days), pa.int32(), nulls=True
        )
    dropped = [name for name in table.column_names if name not in rules]
    if dropped:
        log.info("privacy %s: %s dropped %d columns not in the allow-list", profile.name, table_name, len(dropped))

    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    for name in table.column_names:
        if name not in rules:
            continue
        column = table.column(name).combine_chunks()
        field = table.schema.field(name)
        rule = rules[name]
        if is_id_column(name):
            column = _map_pairs(sources, column, lambda s, v: pseudonym(key, s, v), pa.string())
            field = pa.field(name, pa.string(), field.nullable, {PSEUDONYM_KEY: b"hmac-sha256"})
        elif is_temporal(column.type):
            column, field = _dates(column, field, profile, offsets, rule == "birth-date", today)
        elif rule == "zip3":
            column, field = _zip3(column, field, table, profile)
        elif rule == "age":
            column, field = _age(column, field, profile)
        elif _is_nested(column.type):
            log.warning("privacy: %s.%s is nested (%s) and cannot be checked: dropped", table_name, name, column.type)
            continue
        fields.append(field)
        arrays.append(column)

    if patients is not None:
        ratios = profile.split_ratios
        fields.append(pa.field("split", pa.string()))
        arrays.append(
            _map_pairs(sources, patients, lambda s, p: assign_split(pseudonym(key, s, p), ratios), pa.string())
        )
    return pa.Table.from_arrays(
        arrays, schema=pa.schema(fields, metadata={b"fhirmony:privacy_profile": profile.name.encode()})
    )


def _original_patient_ids(table_name: str, table: pa.Table) -> pa.Array | None:
    if "patient_id" in table.column_names:
        return table.column("patient_id").combine_chunks()
    if table_name == "patient" and "id" in table.column_names:
        return table.column("id").combine_chunks()
    return None


def _map_pairs(
    sources: pa.Array, values: pa.Array, fn: Callable[[str, Any], Any], out_type: pa.DataType, nulls: bool = False
) -> pa.Array:
    """`fn(source_id, value)` for every row, computed once per distinct pair.

    Null values stay null unless `nulls` is set, when `fn(source_id, None)` is used for them.
    """
    values = values.cast(pa.string())
    if len(values) and pc.count_distinct(sources).as_py() == 1:  # the usual case: one source per partition
        source = sources[0].as_py()
        encoded = pc.dictionary_encode(values)
        mapped = pa.array([fn(source, v) for v in encoded.dictionary.to_pylist()], out_type).take(encoded.indices)
        if nulls and mapped.null_count:
            mapped = pc.fill_null(mapped, pa.scalar(fn(source, None), out_type))
        return mapped
    cache: dict[tuple[str, Any], Any] = {}
    out = []
    for source, value in zip(sources.to_pylist(), values.to_pylist(), strict=True):
        if value is None and not nulls:
            out.append(None)
            continue
        if (source, value) not in cache:
            cache[(source, value)] = fn(source, value)
        out.append(cache[(source, value)])
    return pa.array(out, out_type)


def _dates(
    column: pa.Array, field: pa.Field, profile: Profile, offsets: pa.Array | None, birth: bool, today: dt.date
) -> tuple[pa.Array, pa.Field]:
    meta: dict[bytes, bytes] = {}
    if offsets is not None:
        column = _shift(column, offsets)
        meta[SHIFTED_KEY] = b"true"
    precision = profile.birth_date if birth else ("year" if profile.dates == "year" else "day")
    if precision != "day":
        column = pc.floor_temporal(column, unit=precision)
    if birth and profile.age_top_code is not None:
        column = _cap_birth_year(column, today.year - profile.age_top_code)
    meta[PRECISION_KEY] = precision.encode()
    return column, pa.field(field.name, column.type, field.nullable, meta)


def _shift(column: pa.Array, offsets: pa.Array) -> pa.Array:
    """Add whole days: dates and timestamps of one patient move together, intervals unchanged."""
    data_type = column.type
    if pa.types.is_date32(data_type):
        return pc.add(column.cast(pa.int32()), offsets).cast(pa.date32())
    if pa.types.is_date64(data_type):
        return pc.add(column.cast(pa.int64()), pc.multiply(offsets.cast(pa.int64()), 86_400_000)).cast(data_type)
    per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}[data_type.unit]
    shifted = pc.add(column.cast(pa.int64()), pc.multiply(offsets.cast(pa.int64()), per_day))
    return shifted.cast(data_type)


def _cap_birth_year(column: pa.Array, cap_year: int) -> pa.Array:
    """Birth dates before `cap_year` (ages over the top code) all become 1 January `cap_year`."""
    cap = pa.scalar(dt.date(cap_year, 1, 1), pa.date32())
    if pa.types.is_timestamp(column.type):
        cap = pa.scalar(dt.datetime(cap_year, 1, 1, tzinfo=dt.UTC if column.type.tz else None), column.type)
    elif pa.types.is_date64(column.type):
        cap = cap.cast(column.type)
    return pc.if_else(pc.less(column, cap), cap, column)


def _zip3(column: pa.Array, field: pa.Field, table: pa.Table, profile: Profile) -> tuple[pa.Array, pa.Field]:
    """US ZIP codes to their first three digits, "000" for small areas; other postal codes to null."""
    countries = table.column("country").to_pylist() if "country" in table.column_names else [None] * len(column)
    out: list[str | None] = []
    for value, country in zip(column.to_pylist(), countries, strict=True):
        if value is None or country != "US":
            out.append(None)
            continue
        match = _DIGITS.match(str(value).strip())
        prefix = match.group(0) if match else "000"
        out.append("000" if prefix in profile.restricted_zip3 else prefix)
    return pa.array(out, pa.string()), pa.field(field.name, pa.string(), field.nullable, {PRECISION_KEY: b"zip3"})


def _age(column: pa.Array, field: pa.Field, profile: Profile) -> tuple[pa.Array, pa.Field]:
    if profile.age_top_code is None or not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return column, field
    top = pa.scalar(profile.age_top_code).cast(column.type)
    return pc.if_else(pc.greater(column, top), top, column), field


def _is_nested(data_type: pa.DataType) -> bool:
    return pa.types.is_nested(data_type)
