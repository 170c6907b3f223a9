"""UCUM validity of unit strings, by the full UCUM grammar (`ucumvert`, generated from
ucum-essence.xml), case-sensitive as UCUM is: `mg/dL` and `[IU]/L` are valid, `IU/L`, `mcg` not."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from fhirmony.terminology.units import ucum_registry


@cache
def is_ucum(unit: str) -> bool:
    """Whether `unit` is, exactly as written, a valid UCUM expression."""
    if not unit or unit != unit.strip():
        return False
    try:
        ucum_registry().from_ucum(unit)
    except Exception:  # ucumvert raises InvalidUcumError; pint may raise its own errors
        return False
    return True


def valid_units(values: Iterable[Any]) -> list[str]:
    """The distinct valid UCUM strings among `values` (each distinct string parsed once)."""
    return sorted({str(v) for v in values if isinstance(v, str) and is_ucum(v)})
