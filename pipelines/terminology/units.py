"""UCUM units: validation of unit strings and linear conversions, with results cached per unit.

Parsing and conversion use `ucumvert` (the full UCUM grammar, generated from ucum-essence.xml) and its
pint registry. Both are loaded lazily, on the first unit string not seen before, and every answer is
cached, so a worker pays the ~3 s registry start-up at most once and then only dict lookups.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhirmony.terminology.tables import load_table

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Linear:
    """`target = factor * source + offset` (offset only for temperatures)."""

    factor: float
    offset: float = 0.0

    def __call__(self, value: float) -> float:
        return self.factor * value + self.offset


@dataclass(frozen=True, slots=True)
class Analyte:
    molar_mass: float | None = None  # g/mol
    valence: int | None = None


@cache
def ucum_registry() -> Any:
    """ucumvert's pint registry of the full UCUM grammar: built once per process (~1-3 s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ucumvert import PintUcumRegistry

        return PintUcumRegistry()


class Ucum:
    """Unit strings → valid UCUM codes, and conversions between UCUM codes (cached)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = dict(load_table("unit_aliases.json")["aliases"])
        self.folded_aliases = {key.casefold(): value for key, value in self.aliases.items()}
        self.codes: dict[str, str | None] = {}  # unit string → UCUM code, or None if not UCUM
        self.conversions: dict[tuple[str, str, float | None, int | None], Linear | None] = {}
        self._registry: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = {key: getattr(self, key) for key in ("aliases", "folded_aliases", "codes", "conversions")}
        return state  # the pint registry is rebuilt lazily in the worker

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._registry = None

    def registry(self) -> Any:
        if self._registry is None:
            self._registry = ucum_registry()
        return self._registry

    def code(self, unit: str) -> str | None:
        """The UCUM code a unit string means (`mEq/L` → `meq/L`), or None when it is not UCUM."""
        try:
            return self.codes[unit]
        except KeyError:
            pass
        candidate = self.aliases.get(unit) or self.folded_aliases.get(unit.strip().casefold()) or unit.strip()
        result = candidate if candidate and self._parse(candidate) is not None else None
        self.codes[unit] = result
        return result

    def _parse(self, code: str) -> Any:
        try:
            return self.registry().from_ucum(code)
        except Exception:  # ucumvert raises InvalidUcumError, pint its own errors
            return None

    def conversion(self, source: str, target: str, analyte: Analyte | None = None) -> Linear | None:
        """How to convert values from UCUM code `source` to `target`, or None when they are not
        commensurable (mass ↔ substance needs the analyte's molar mass; equivalents its valence)."""
        if source == target:
            return Linear(1.0)
        molar_mass = analyte.molar_mass if analyte else None
        valence = analyte.valence if analyte else None
        key = (source, target, molar_mass, valence)
        if key not in self.conversions:
            self.conversions[key] = self._compute(source, target, molar_mass, valence)
        return self.conversions[key]

    def _compute(self, source: str, target: str, molar_mass: float | None, valence: int | None) -> Linear | None:
        src, dst = self._parse(source), self._parse(target)
        if not hasattr(src, "units") or not hasattr(dst, "units"):
            return None  # annotation-only units ({score}) convert to nothing
        registry = src._REGISTRY
        try:
            if src.dimensionality == dst.dimensionality:
                if str(src.dimensionality) == "[temperature]":  # offset units: Cel, [degF]
                    zero = registry.Quantity(0.0, src.units).to(dst.units).magnitude
                    one = registry.Quantity(1.0, src.units).to(dst.units).magnitude
                    return Linear(float(one - zero), float(zero))
                factor = float((src / dst).to("dimensionless").magnitude)
                return Linear(self._equivalents(factor, source, target, valence))
            if molar_mass is None:
                return None
            per_mole = registry.Quantity(molar_mass, "g/mol")
            for candidate in (src / per_mole, src * per_mole):
                if candidate.dimensionality == dst.dimensionality:
                    factor = float((candidate / dst).to("dimensionless").magnitude)
                    return Linear(self._equivalents(factor, source, target, valence))
        except Exception as error:  # pint: offset units in products, undefined dimensions
            log.debug("no conversion %s → %s: %s", source, target, error)
        return None

    @staticmethod
    def _equivalents(factor: float, source: str, target: str, valence: int | None) -> float:
        """UCUM counts 1 eq as 1 mol; an ion of valence z has z eq per mol."""
        if not valence or valence == 1:
            return factor
        if "eq" in source and "eq" not in target:
            return factor / valence
        if "eq" in target and "eq" not in source:
            return factor * valence
        return factor
