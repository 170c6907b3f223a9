"""Column types: FHIR type -> Arrow type, and conversion of evaluated Python values to Arrow arrays.

Mapping (documented in docs/views.md):
  boolean -> bool; integer, positiveInt, unsignedInt, integer64 -> int64; decimal -> float64;
  date -> date32 (partial dates complete to the first day); dateTime, instant -> timestamp[us, UTC]
  (partial values complete to the earliest instant, values without an offset are read as UTC);
  base64Binary -> binary; everything else (string, code, uri, id, time, ...) -> string;
  complex types -> string holding compact JSON; `collection: true` -> list<...>.
The `ansi/type` tag overrides the mapping (DATE, TIMESTAMP, VARCHAR, BOOLEAN, INTEGER, DECIMAL, BINARY...).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

import orjson
import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

FHIR_TO_ARROW: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "integer": pa.int64(),
    "positiveInt": pa.int64(),
    "unsignedInt": pa.int64(),
    "integer64": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
    "dateTime": TIMESTAMP,
    "instant": TIMESTAMP,
    "base64Binary": pa.binary(),
}

_ANSI: list[tuple[str, pa.DataType]] = [
    ("TIMESTAMP", TIMESTAMP),
    ("DATE", pa.date32()),
    ("BOOL", pa.bool_()),
    ("BIGINT", pa.int64()),
    ("INT", pa.int64()),
    ("SMALLINT", pa.int64()),
    ("DECIMAL", pa.float64()),
    ("NUMERIC", pa.float64()),
    ("DOUBLE", pa.float64()),
    ("FLOAT", pa.float64()),
    ("REAL", pa.float64()),
    ("VARBINARY", pa.binary()),
    ("BINARY", pa.binary()),
    ("BLOB", pa.binary()),
    ("CHAR", pa.string()),
    ("VARCHAR", pa.string()),
    ("TEXT", pa.string()),
    ("STRING", pa.string()),
]


def fhir_type_name(type_uri: str | None) -> str | None:
    """`http://hl7.org/fhirpath/System.String` or `string` -> a bare FHIR type name."""
    if not type_uri:
        return None
    bare = type_uri.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    system = {"String": "string", "Boolean": "boolean", "Integer": "integer", "Decimal": "decimal",
              "Date": "date", "DateTime": "dateTime", "Time": "time", "Integer64": "integer64"}  # fmt: skip
    return system.get(bare, bare) if "System" in type_uri or "fhirpath" in type_uri else bare


def arrow_type(fhir_type: str | None, collection: bool, ansi_type: str | None = None) -> pa.DataType:
    """The Arrow type of a column."""
    base: pa.DataType | None = None
    if ansi_type:
        upper = ansi_type.upper()
        base = next((t for key, t in _ANSI if upper.startswith(key)), None)
    if base is None:
        base = FHIR_TO_ARROW.get(fhir_type or "string", pa.string())
    return pa.list_(base) if collection else base


def arrow_kind(arrow: pa.DataType) -> str:
    """A short name of an Arrow type: string, boolean, int64, float64, date32, timestamp, binary, list."""
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    if pa.types.is_date(arrow):
        return "date32"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_integer(arrow):
        return "int64"
    if pa.types.is_floating(arrow):
        return "float64"
    if pa.types.is_string(arrow):
        return "string"
    if pa.types.is_list(arrow):
        return "list"
    return str(arrow)


# ---------------------------------------------------------------- value conversion
class ConversionError(ValueError):
    """A value that does not fit its column's type."""


_DATETIME_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_DATETIME_ANY = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def timestamp_text(value: object) -> str:
    """A FHIR date/dateTime/instant as a full ISO instant Arrow can parse (earliest instant, UTC default)."""
    if type(value) is not str:
        raise ConversionError(f"{value!r} is not a dateTime")
    if _DATETIME_FULL.match(value):
        return value
    match = _DATETIME_ANY.match(value)
    if not match:
        raise ConversionError(f"{value!r} is not a valid FHIR dateTime")
    year, month, day, hour, minute, second, frac, tz = match.groups()
    frac = (frac or "")[:7]
    return f"{year}-{month or '01'}-{day or '01'}T{hour or '00'}:{minute or '00'}:{second or '00'}{frac}{tz or 'Z'}"


def date_text(value: object) -> str:
    """A FHIR date (or the date part of a dateTime) as YYYY-MM-DD, partial dates completed to the first day."""
    if type(value) is not str:
        raise ConversionError(f"{value!r} is not a date")
    head = value[:10]
    if len(head) == 4:
        head += "-01-01"
    elif len(head) == 7:
        head += "-01"
    try:
        date.fromisoformat(head)
    except ValueError as exc:
        raise ConversionError(f"{value!r} is not a valid FHIR date") from exc
    return head


def _string(value: object) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return repr(value)
    if kind is int or kind is Decimal:
        return str(value)
    return orjson.dumps(value, default=str).decode()


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise ConversionError(f"{value!r} is not a boolean")
    return value  # type: ignore[return-value]


def _int(value: object) -> int:
    if type(value) is not int:
        raise ConversionError(f"{value!r} is not an integer")
    return value  # type: ignore[return-value]


def _float(value: object) -> float:
    if type(value) is bool or not isinstance(value, int | float | Decimal):
        raise ConversionError(f"{value!r} is not a decimal")
    return float(value)


def _binary(value: object) -> bytes:
    if type(value) is not str:
        raise ConversionError(f"{value!r} is not base64")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ConversionError(f"{value!r} is not valid base64") from exc


def value_converter(arrow: pa.DataType) -> Callable[[object], object]:
    """Per-value conversion to what pa.array accepts for `arrow` (raises ConversionError)."""
    if pa.types.is_boolean(arrow):
        return _bool
    if pa.types.is_integer(arrow):
        return _int
    if pa.types.is_floating(arrow):
        return _float
    if pa.types.is_date(arrow):
        return date_text
    if pa.types.is_timestamp(arrow):
        return timestamp_text
    if pa.types.is_binary(arrow):
        return _binary
    return _string


def to_arrow(values: Sequence[object], arrow: pa.DataType) -> tuple[pa.Array, dict[int, str]]:
    """Convert one column; returns the array and {row: reason} for values that do not fit (set to null)."""
    is_list = pa.types.is_list(arrow)
    item_type = arrow.value_type if is_list else arrow
    try:
        if not is_list and (pa.types.is_string(arrow) or pa.types.is_floating(arrow)):
            return pa.array(values, type=arrow), {}
        if not is_list and (pa.types.is_timestamp(arrow) or pa.types.is_date(arrow)):
            return pa.array(values, type=pa.string()).cast(arrow), {}
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    convert = value_converter(item_type)
    failures: dict[int, str] = {}
    out: list[object] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append([convert(v) for v in value] if is_list else convert(value))  # type: ignore[attr-defined]
        except ConversionError as exc:
            failures[row] = str(exc)
            out.append(None)
    staged = pa.list_(pa.string()) if is_list else pa.string()
    if pa.types.is_timestamp(item_type) or pa.types.is_date(item_type):
        return pa.array(out, type=staged).cast(arrow), failures
    return pa.array(out, type=arrow), failures
