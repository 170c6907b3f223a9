"""FHIRPath value semantics over FHIR JSON: type tests, equality, ordering, temporal values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from fhirmony.views.errors import FhirPathSyntaxError
from fhirmony.views.model import is_known_type

Value = object

PRIMITIVE_STRING_TYPES = frozenset(
    {"string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "base64Binary", "xhtml"}
)
TEMPORAL_TYPES = frozenset({"date", "dateTime", "instant", "time"})
INTEGER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})
PRIMITIVE_TYPES = PRIMITIVE_STRING_TYPES | TEMPORAL_TYPES | INTEGER_TYPES | {"boolean", "decimal"}
SYSTEM_TYPES = {
    "Boolean": "boolean",
    "String": "string",
    "Integer": "integer",
    "Integer64": "integer64",
    "Decimal": "decimal",
    "Date": "date",
    "DateTime": "dateTime",
    "Time": "time",
    "Quantity": "Quantity",
}
# Data types that may follow a choice element's base name (valueQuantity, onsetDateTime, ...).
CHOICE_SUFFIXES = frozenset(
    {t[0].upper() + t[1:] for t in PRIMITIVE_TYPES}
    | {
        "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "CodeableReference", "Coding",
        "ContactDetail", "ContactPoint", "Contributor", "Count", "DataRequirement", "Distance", "Dosage",
        "Duration", "Expression", "HumanName", "Identifier", "Meta", "Money", "ParameterDefinition",
        "Period", "Quantity", "Range", "Ratio", "RatioRange", "Reference", "RelatedArtifact",
        "SampledData", "Signature", "Timing", "TriggerDefinition", "UsageContext", "Availability",
        "ExtendedContactDetail", "VirtualServiceDetail", "MonetaryComponent",
    }
)  # fmt: skip

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?T(?:(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)
_TIME = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")


def normalize_type_name(name: str) -> str:
    """`FHIR.Quantity` -> `Quantity`, `System.Integer` -> `integer`."""
    namespace, _, bare = name.rpartition(".")
    if namespace == "System" or (not namespace and bare in SYSTEM_TYPES and bare != "Quantity"):
        return SYSTEM_TYPES.get(bare, bare)
    return bare


def checked_type_name(name: str) -> str:
    """`name` itself when it names a FHIR or System type; FhirPathSyntaxError otherwise."""
    namespace, _, bare = name.rpartition(".")
    known = (
        bare in SYSTEM_TYPES
        or bare in PRIMITIVE_TYPES
        or (bare[:1].isupper() and bare[:1].lower() + bare[1:] in PRIMITIVE_TYPES)  # Instant, Code, ...
        or is_known_type(bare)
    )
    if namespace not in ("", "FHIR", "System") or not known:
        raise FhirPathSyntaxError(f"unknown type {name!r}")
    return name


def runtime_type(item: Value) -> str | None:
    """The FHIR type of a JSON value when it can be told from the value alone."""
    kind = type(item)
    if kind is bool:
        return "boolean"
    if kind is int:
        return "integer"
    if kind is float or kind is Decimal:
        return "decimal"
    if kind is str:
        return temporal_kind(item) or "string"
    if kind is dict:
        return item.get("resourceType")  # type: ignore[union-attr]
    return None


def type_matches(item: Value, type_name: str) -> bool:
    """Whether a value can be of `type_name` (exact for primitives and resources, lenient for complex types)."""
    name = normalize_type_name(type_name)
    kind = type(item)
    if name == "boolean":
        return kind is bool
    if name in INTEGER_TYPES:
        return kind is int
    if name == "decimal":
        return kind is float or kind is Decimal
    if name in TEMPORAL_TYPES:
        if kind is not str:
            return False
        found = temporal_kind(item)
        return found == name or (name == "instant" and found == "dateTime") or (name == "dateTime" and found == "date")
    if name in PRIMITIVE_STRING_TYPES:
        return kind is str
    if kind is dict:
        resource_type = item.get("resourceType")  # type: ignore[union-attr]
        if resource_type is not None:
            return resource_type == name or name in {"Resource", "DomainResource"}
        return name not in {"Resource", "DomainResource"}
    return False


def temporal_kind(text: str) -> str | None:
    """'date' | 'dateTime' | 'time' when a string has that FHIR lexical form."""
    if len(text) < 2 or not text[0].isdigit() or not text[1].isdigit():
        return None
    if _DATE.match(text):
        return "date"
    if "T" in text and _DATETIME.match(text):
        return "dateTime"
    if ":" in text and _TIME.match(text):
        return "time"
    return None


def temporal_parts(text: str, kind: str | None = None) -> tuple[str, list[float]] | None:
    """A temporal string as (kind, comparable components in UTC), components up to its precision."""
    kind = kind or temporal_kind(text)
    if kind == "time":
        match = _TIME.match(text)
        if not match:
            return None
        h, mi, s, frac = match.groups()
        parts: list[float] = [int(h)]
        if mi is not None:
            parts.append(int(mi))
        if s is not None:
            parts.append(int(s) + (float("0." + frac) if frac else 0.0))
        return "time", parts
    match = _DATE.match(text) or _DATETIME.match(text)
    if not match:
        return None
    groups = match.groups()
    values = [g for g in groups[:6] if g is not None]
    parts = [int(v) for v in values]
    if len(groups) > 6 and groups[5] is not None:
        parts[-1] = int(groups[5]) + (float("0." + groups[6]) if groups[6] else 0.0)
    tz = groups[7] if len(groups) > 7 else None
    if len(parts) >= 4 and tz and tz != "Z" and tz not in {"+00:00", "-00:00"}:
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
        base = datetime(parts[0], parts[1], parts[2], parts[3], parts[4] if len(parts) > 4 else 0,
                        tzinfo=timezone(offset))  # fmt: skip
        utc = base.astimezone(UTC)
        shifted: list[float] = [utc.year, utc.month, utc.day, utc.hour, utc.minute]
        parts = shifted[: len(parts)] if len(parts) <= 5 else [*shifted, parts[5]]
    return ("date" if len(parts) <= 3 and "T" not in text else "dateTime"), parts


def compare_temporal(a: str, b: str) -> int | None:
    """-1/0/1, or None when the precisions differ and the common part is equal."""
    pa, pb = temporal_parts(a), temporal_parts(b)
    if pa is None or pb is None or (pa[0] == "time") != (pb[0] == "time"):
        return None
    xa, xb = pa[1], pb[1]
    for u, v in zip(xa, xb, strict=False):
        if u != v:
            return -1 if u < v else 1
    return 0 if len(xa) == len(xb) else None


def is_number(item: Value) -> bool:
    kind = type(item)
    return kind is int or kind is float or kind is Decimal


def to_decimal(item: Value) -> Decimal:
    if type(item) is float:
        return Decimal(repr(item))
    return Decimal(item)  # type: ignore[arg-type]


def equals(a: Value, b: Value) -> bool | None:
    """FHIRPath `=` on two single values; None when undecidable (temporal precision mismatch)."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        if a == b:
            return True
        if a[:1].isdigit() and b[:1].isdigit() and temporal_kind(a) and temporal_kind(b):  # type: ignore[index]
            result = compare_temporal(a, b)  # type: ignore[arg-type]
            return None if result is None else result == 0
        return False
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if is_number(a) and is_number(b):
        if ta is float or tb is float:
            return to_decimal(a) == to_decimal(b)
        return a == b
    if ta is dict and tb is dict:
        if "value" in a and "value" in b and ("unit" in a or "code" in a):  # type: ignore[operator]
            return quantity_compare(a, b) == 0  # type: ignore[arg-type]
        return a == b
    return False


def equivalent(a: Value, b: Value) -> bool:
    """FHIRPath `~` on two single values."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return " ".join(a.lower().split()) == " ".join(b.lower().split())  # type: ignore[union-attr]
    if is_number(a) and is_number(b) and ta is not bool and tb is not bool:
        da, db = to_decimal(a), to_decimal(b)
        places = min(-da.as_tuple().exponent, -db.as_tuple().exponent, 28)  # type: ignore[operator]
        quantum = Decimal(1).scaleb(-places)
        return da.quantize(quantum) == db.quantize(quantum)
    return equals(a, b) is True


def quantity_compare(a: dict, b: dict) -> int | None:
    unit_a = a.get("code") or a.get("unit")
    unit_b = b.get("code") or b.get("unit")
    if unit_a != unit_b:
        return None
    return compare(a.get("value"), b.get("value"))


def compare(a: Value, b: Value) -> int | None:
    """-1/0/1 ordering of two single values of comparable types; None if not comparable."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        if temporal_kind(a) and temporal_kind(b):  # type: ignore[arg-type]
            return compare_temporal(a, b)  # type: ignore[arg-type]
        return -1 if a < b else (1 if a > b else 0)  # type: ignore[operator]
    if is_number(a) and is_number(b) and ta is not bool and tb is not bool:
        da, db = (to_decimal(a), to_decimal(b)) if (ta is float or tb is float) else (a, b)
        return -1 if da < db else (1 if da > db else 0)  # type: ignore[operator]
    if ta is dict and tb is dict:
        return quantity_compare(a, b)  # type: ignore[arg-type]
    return None


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
