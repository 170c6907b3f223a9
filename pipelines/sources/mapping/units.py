"""Unit conversions for the mapping language: UCUM codes of common clinical units, and molar masses.

A small, explicit table (not a UCUM parser): mass and molar concentrations (mass ↔ molar needs the
analyte's molar mass in g/mol), mass, length, volume, time and temperature. Mappings add their own
conversions (`conversions:` with `factor` and `offset`) for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

UCUM_SYSTEM = "http://unitsofmeasure.org"

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {}
for _dimension, _table in {
    "mass-concentration": {
        "kg/L": 1e3,
        "g/L": 1.0,
        "g/dL": 10.0,
        "mg/dL": 1e-2,
        "mg/L": 1e-3,
        "mg/mL": 1.0,
        "ug/mL": 1e-3,
        "ug/dL": 1e-5,
        "ug/L": 1e-6,
        "ng/mL": 1e-6,
        "ng/dL": 1e-8,
        "ng/L": 1e-9,
        "pg/mL": 1e-9,
    },
    "molar-concentration": {"mol/L": 1.0, "mmol/L": 1e-3, "umol/L": 1e-6, "nmol/L": 1e-9, "pmol/L": 1e-12},
    "mass": {"kg": 1e3, "g": 1.0, "mg": 1e-3, "ug": 1e-6, "[lb_av]": 453.59237, "[oz_av]": 28.349523125},
    "length": {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "[in_i]": 0.0254, "[ft_i]": 0.3048},
    "volume": {"L": 1.0, "dL": 0.1, "mL": 1e-3, "uL": 1e-6},
    "time": {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "wk": 604800.0},
    "pressure": {"mm[Hg]": 1.0, "kPa": 7.50061683},
}.items():
    for _unit, _factor in _table.items():
        _UNITS[_unit] = (_dimension, _factor)

_TEMPERATURE = {"Cel": (1.0, 0.0), "K": (1.0, -273.15), "[degF]": (5 / 9, -32 * 5 / 9)}  # to Cel: a·x + b


class ConversionError(ValueError):
    """No conversion is known between two units (or a molar mass is missing)."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """A mapping-declared conversion: `to = from × factor + offset`."""

    source: str
    target: str
    factor: float
    offset: float = 0.0


def convert(
    value: float,
    source: str,
    target: str,
    molar_mass: float | None = None,
    extra: dict[tuple[str, str], Conversion] | None = None,
) -> float:
    """`value` in UCUM unit `source`, expressed in `target`."""
    if source == target:
        return value
    if extra and (source, target) in extra:
        rule = extra[(source, target)]
        return value * rule.factor + rule.offset
    if source in _TEMPERATURE and target in _TEMPERATURE:
        a, b = _TEMPERATURE[source]
        celsius = a * value + b
        c, d = _TEMPERATURE[target]
        return (celsius - d) / c
    if source not in _UNITS or target not in _UNITS:
        unknown = source if source not in _UNITS else target
        raise ConversionError(f"no conversion known for unit {unknown!r} (add one under conversions:)")
    from_dim, from_factor = _UNITS[source]
    to_dim, to_factor = _UNITS[target]
    base = value * from_factor
    if from_dim == to_dim:
        return base / to_factor
    dims = {from_dim, to_dim}
    if dims == {"mass-concentration", "molar-concentration"}:
        if not molar_mass or molar_mass <= 0:
            raise ConversionError(f"{source} → {target} needs the analyte's molar mass (molar_mass:)")
        base = base * molar_mass if from_dim == "molar-concentration" else base / molar_mass
        return base / to_factor
    raise ConversionError(f"cannot convert {source} ({from_dim}) to {target} ({to_dim})")


def significant(value: float, digits: int = 6) -> float:
    """Drop float noise from a converted value: 5.550800000001 → 5.5508."""
    return float(f"{value:.{digits}g}")
