"""lowBoundary() / highBoundary() for decimals, dates, dateTimes, times, Quantities and Periods."""

from __future__ import annotations

import calendar
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from fhirmony.views.fhirpath.values import Value, temporal_kind, to_decimal

_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)
_TIME = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")


def boundary(item: Value, high: bool, precision: int | None, static_type: str | None) -> Value | None:
    """The boundary of one value, or None when it has none (or the precision is invalid)."""
    kind = type(item)
    if kind is bool:
        return None
    if kind is int or kind is float or kind is Decimal:
        return _decimal_boundary(item, high, precision)
    if kind is str:
        found = static_type if static_type in {"date", "dateTime", "instant", "time"} else temporal_kind(item)
        if found == "time":
            return _time_boundary(item, high, precision)
        if found in {"date", "dateTime", "instant"}:
            return _datetime_boundary(item, high, precision, as_date=found == "date")
        return None
    if kind is dict:
        if "start" in item or "end" in item:  # Period
            edge = item.get("end" if high else "start")  # type: ignore[union-attr]
            return None if edge is None else _datetime_boundary(edge, high, precision, as_date=False)
        if "value" in item:  # Quantity
            value = _decimal_boundary(item["value"], high, precision)  # type: ignore[index]
            return None if value is None else {**item, "value": value}
    return None


def _decimal_boundary(item: Value, high: bool, precision: int | None) -> float | None:
    value = to_decimal(item)
    digits = max(-value.as_tuple().exponent, 0)  # type: ignore[operator]
    target = 8 if precision is None else precision
    if target < 0 or target > 28:
        return None
    half = Decimal(5).scaleb(-(digits + 1))
    edge = value + half if high else value - half
    quantum = Decimal(1).scaleb(-target)
    if target >= digits + 1:
        return float(edge.quantize(quantum))
    return float(edge.quantize(quantum, rounding=ROUND_CEILING if high else ROUND_FLOOR))


def _time_boundary(text: str, high: bool, precision: int | None) -> str | None:
    match = _TIME.match(text)
    if not match:
        return None
    h, mi, s, frac = match.groups()
    mi = mi or ("59" if high else "00")
    s = s or ("59" if high else "00")
    frac = _fraction(frac, high)
    full = [h, mi, s, frac]
    if precision is None or precision >= 9:
        return f"{full[0]}:{full[1]}:{full[2]}.{full[3]}"
    cut = {2: 1, 4: 2, 6: 3}.get(precision)
    if cut is None:
        return None
    return ":".join(full[:cut])


def _datetime_boundary(text: str, high: bool, precision: int | None, as_date: bool) -> str | None:
    match = _DATETIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, tz = match.groups()
    month = month or ("12" if high else "01")
    if day is None:
        day = f"{calendar.monthrange(int(year), int(month))[1]:02d}" if high else "01"
    if as_date:
        target = 8 if precision is None else precision
        pieces = {4: year, 6: f"{year}-{month}", 8: f"{year}-{month}-{day}"}
        return pieces.get(target)
    hour = hour or ("23" if high else "00")
    minute = minute or ("59" if high else "00")
    second = second or ("59" if high else "00")
    frac = _fraction(frac, high)
    if tz is None:
        tz = "-12:00" if high else "+14:00"
    target = 17 if precision is None else precision
    pieces = {
        4: year,
        6: f"{year}-{month}",
        8: f"{year}-{month}-{day}",
        10: f"{year}-{month}-{day}T{hour}{tz}",
        12: f"{year}-{month}-{day}T{hour}:{minute}{tz}",
        14: f"{year}-{month}-{day}T{hour}:{minute}:{second}{tz}",
        17: f"{year}-{month}-{day}T{hour}:{minute}:{second}.{frac}{tz}",
    }
    return pieces.get(target)


def _fraction(frac: str | None, high: bool) -> str:
    """Milliseconds: the given digits padded with 0 (low) or 9 (high)."""
    return (frac or "").ljust(3, "9" if high else "0")[:3]
