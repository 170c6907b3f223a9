"""A source's hints for what its data leaves unsaid (`coding:` and `units:` in fhirmony.yaml).

`coding: {condition: icd-10-gm}` gives the code system of codings without one in a resource type's
main coded element (Condition.code, Observation.code, ...). `units: {glucose: mmol/L}` gives the unit
of lab values without one, per LOINC code or per analyte of the canonical-unit table (every LOINC
code measuring glucose). Data that states its system or unit keeps it: hints only fill gaps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhirmony.terminology.systems import LOINC, UCUM, system_table
from fhirmony.terminology.tables import load_table
from fhirmony.terminology.units import Ucum

# The main coded element per resource type: the one a `coding:` hint fills and coverage counts.
CODE_ELEMENTS: dict[str, str] = {
    "Condition": "code",
    "Observation": "code",
    "Procedure": "code",
    "DiagnosticReport": "code",
    "AllergyIntolerance": "code",
    "Medication": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
    "MedicationDispense": "medicationCodeableConcept",
    "Immunization": "vaccineCode",
    "Encounter": "type",
}
_LOINC_CODE = re.compile(r"\d{1,7}-\d")
_NUMBERS = (int, float)


class HintError(ValueError):
    """A hint that cannot be resolved; the message starts with the offending key."""


@dataclass(frozen=True, slots=True)
class SourceHints:
    """Resolved hints: resource type → canonical system URI, LOINC code → UCUM code."""

    systems: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.systems or self.units)

    def fill_systems(self, resource: dict[str, Any]) -> int:
        """Give the hinted system to codings without one in the resource's coded element; how many."""
        rtype = resource.get("resourceType", "")
        system = self.systems.get(rtype)
        if system is None:
            return 0
        value = resource.get(CODE_ELEMENTS[rtype])
        filled = 0
        for concept in value if isinstance(value, list) else [value]:
            codings = concept.get("coding") if isinstance(concept, dict) else None
            for coding in codings if isinstance(codings, list) else []:
                if isinstance(coding, dict) and coding.get("code") and not coding.get("system"):
                    coding["system"] = system
                    filled += 1
        return filled

    def fill_units(self, observation: dict[str, Any]) -> int:
        """Give the hinted UCUM unit to unit-less quantities of an Observation and its components,
        by their LOINC code (systems already canonical); how many."""
        if not self.units or observation.get("resourceType") != "Observation":
            return 0
        holders = [observation, *[c for c in observation.get("component") or [] if isinstance(c, dict)]]
        return sum(self._fill_unit(holder) for holder in holders)

    def _fill_unit(self, holder: dict[str, Any]) -> int:
        quantity = holder.get("valueQuantity")
        if not isinstance(quantity, dict) or type(quantity.get("value")) not in _NUMBERS:
            return 0
        if quantity.get("unit") or quantity.get("code"):
            return 0
        concept = holder.get("code")
        for coding in concept.get("coding") or [] if isinstance(concept, dict) else []:
            if isinstance(coding, dict) and coding.get("system") == LOINC and coding.get("code") in self.units:
                unit = self.units[coding["code"]]
                quantity.update({"unit": unit, "system": UCUM, "code": unit})
                return 1
        return 0


def resolve_hints(coding: Mapping[str, str], units: Mapping[str, str]) -> SourceHints:
    """Check and resolve a source's hints; raises HintError naming the key (`coding.condition: ...`)."""
    systems = {}
    for key, name in coding.items():
        systems[_resource_type(key)] = _system(key, name)
    loinc_units = {}
    ucum = Ucum() if units else None
    for key, unit in units.items():
        code = ucum.code(unit) if ucum is not None and isinstance(unit, str) else None
        if code is None:
            raise HintError(f"units.{key}: {unit!r} is not a UCUM unit (e.g. mmol/L, mg/dL, %)")
        for loinc in _loinc_codes(key):
            loinc_units[loinc] = code
    return SourceHints(systems, loinc_units)


def _resource_type(key: str) -> str:
    for rtype in CODE_ELEMENTS:
        if rtype.lower() == key.replace("_", "").lower():
            return rtype
    known = ", ".join(name.lower() for name in CODE_ELEMENTS)
    raise HintError(f"coding.{key}: not a resource type with a coded element ({known})")


def _system(key: str, name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise HintError(f"coding.{key}: give a code system name or URI")
    canonical = system_table().canonical(name)
    if canonical is not None:
        return canonical
    if re.match(r"(https?|urn):", name):
        return name  # a system the table does not know, given by its URI
    raise HintError(f"coding.{key}: unknown code system {name!r}; give its URI or a known name (e.g. icd-10-gm)")


def _loinc_codes(key: str) -> list[str]:
    if _LOINC_CODE.fullmatch(key):
        return [key]
    codes = _analytes().get(key.lower())
    if not codes:
        known = ", ".join(sorted(_analytes())[:8])
        raise HintError(f"units.{key}: neither a LOINC code (e.g. 2345-7) nor a known analyte ({known}, ...)")
    return codes


@cache
def _analytes() -> dict[str, list[str]]:
    """Analyte name → the LOINC codes of the canonical-unit table that measure it."""
    analytes: dict[str, list[str]] = {}
    for code, entry in load_table("loinc_units.json")["codes"].items():
        if entry.get("analyte"):
            analytes.setdefault(entry["analyte"], []).append(code)
    return analytes
