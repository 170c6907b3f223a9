"""`Normalizer`: canonical code systems, ICD-9-CM → ICD-10-CM codings and UCUM units on FHIR resources."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhirmony.terminology.hints import CODE_ELEMENTS, SourceHints
from fhirmony.terminology.icd import GEM_FILE, IcdCrosswalk
from fhirmony.terminology.stats import CoverageStats
from fhirmony.terminology.systems import ICD9CM, ICD10CM, LOINC, UCUM, SystemTable, system_table
from fhirmony.terminology.tables import load_table
from fhirmony.terminology.units import Analyte, Ucum

log = logging.getLogger(__name__)

GEM_EXTENSION = "https://fhirmony.org/fhir/StructureDefinition/icd9-gem-mapping"
CROSSWALK_ENV = "FHIRMONY_ICD_CROSSWALK"

_NUMBERS = (int, float)  # bool is excluded: type(True) is bool


@dataclass(frozen=True, slots=True)
class Target:
    """The canonical unit of a LOINC code, and what converting to it needs."""

    loinc: str
    unit: str
    analyte: Analyte | None = None
    enzyme: bool = False  # enzymatic activity: an international unit [IU] is the enzyme unit U (µmol/min)


def find_crosswalk(explicit: str | Path | None = None) -> Path | None:
    """The ICD-9→10 GEM folder: `explicit`, $FHIRMONY_ICD_CROSSWALK, $FHIRMONY_SHARED/data/icd-cm-crosswalk,
    or `../shared/data/icd-cm-crosswalk` beside the repository; None when none holds the GEM."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get(CROSSWALK_ENV):
        candidates.append(Path(os.environ[CROSSWALK_ENV]))
    if os.environ.get("FHIRMONY_SHARED"):
        candidates.append(Path(os.environ["FHIRMONY_SHARED"]) / "data" / "icd-cm-crosswalk")
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "icd-cm-crosswalk")
    for candidate in candidates:
        folder = candidate.parent if candidate.is_file() else candidate
        if (folder / GEM_FILE).is_file():
            return folder
    return None


class Normalizer:
    """Normalizes FHIR R4 resources (JSON dicts) in place; all tables are loaded once, at construction.

    Picklable: send it to worker processes. The UCUM registry is rebuilt lazily where a new unit string
    shows up; known units and conversions travel in the cache.
    """

    def __init__(
        self, systems: SystemTable, ucum: Ucum, targets: dict[str, Target], crosswalk: IcdCrosswalk | None
    ) -> None:
        self.systems = systems
        self.ucum = ucum
        self.targets = targets
        self.crosswalk = crosswalk
        self._system_cache: dict[str, str] = {}

    @classmethod
    def from_environment(cls, crosswalk: str | Path | None = None) -> Normalizer:
        """Load the curated tables and, when found (see `find_crosswalk`), the ICD-9-CM→ICD-10-CM GEM."""
        analytes = {
            name: Analyte(entry.get("molar_mass"), entry.get("valence"))
            for name, entry in load_table("molar_masses.json")["analytes"].items()
        }
        targets = {
            code: Target(code, entry["unit"], analytes.get(entry.get("analyte", "")), entry.get("enzyme", False))
            for code, entry in load_table("loinc_units.json")["codes"].items()
        }
        folder = find_crosswalk(crosswalk)
        gem = IcdCrosswalk.load(folder) if folder else None
        if gem is None:
            log.warning("ICD-9-CM→ICD-10-CM GEM not found: ICD-9-CM codes stay unmapped (set %s)", CROSSWALK_ENV)
        return cls(system_table(), Ucum(), targets, gem)

    def describe(self) -> dict[str, Any]:
        """What this normalizer knows, for run metadata."""
        return {
            "code_systems": len(self.systems.names),
            "canonical_units": len(self.targets),
            "unit_aliases": len(self.ucum.aliases),
            "icd9_gem": self.crosswalk.source if self.crosswalk else None,
            "icd9_gem_codes": len(self.crosswalk.targets) if self.crosswalk else 0,
        }

    def normalize(
        self, resource: dict[str, Any], stats: CoverageStats, hints: SourceHints | None = None
    ) -> dict[str, Any]:
        """Canonical system URIs, UCUM units, ICD-10-CM beside ICD-9-CM, canonical lab units; in place.
        The source's `hints` first fill missing code systems and lab units."""
        if hints:
            stats.hinted["system"] += hints.fill_systems(resource)
        self._walk(resource, stats)
        rtype = resource.get("resourceType", "")
        if rtype == "Condition":
            self._map_icd9(resource.get("code"), stats)
        elif rtype == "Observation":
            if hints:
                stats.hinted["unit"] += hints.fill_units(resource)
            self._convert_observation(resource, stats)
        element = CODE_ELEMENTS.get(rtype)
        if element is not None:
            value = resource.get(element)
            for concept in value if isinstance(value, list) else [value]:
                if isinstance(concept, dict):
                    self._cover(rtype, concept, stats)
        return resource

    # -- code systems and units everywhere in the resource ------------------------------------------

    def _walk(self, node: dict[str, Any], stats: CoverageStats) -> None:
        """Every Coding's system and every Quantity's unit, anywhere in the resource (hot path)."""
        system = node.get("system")
        if system is not None and type(system) is str and "code" in node:
            canonical = self._system_cache.get(system) or self._canonical(system)
            if canonical != system:
                node["system"] = canonical
                stats.renamed_systems[f"{system} -> {canonical}"] += 1
        if "value" in node and type(node["value"]) in _NUMBERS and ("unit" in node or "code" in node):
            self._ucum_quantity(node, stats)
        for child in node.values():
            kind = type(child)
            if kind is dict:
                self._walk(child, stats)
            elif kind is list:
                for item in child:
                    if type(item) is dict:
                        self._walk(item, stats)

    def _canonical(self, system: str) -> str:
        cached = self._system_cache.get(system)
        if cached is None:
            cached = self._system_cache[system] = self.systems.canonical(system) or system
        return cached

    def _ucum_quantity(self, quantity: dict[str, Any], stats: CoverageStats) -> None:
        system = quantity.get("system")
        if system is not None and system != UCUM:
            return  # a unit from another code system: left as it is
        text = quantity.get("code") or quantity.get("unit")  # a code without a system is taken as UCUM
        if not isinstance(text, str) or not text.strip():
            return
        stats.units["quantities"] += 1
        code = self.ucum.code(text)
        if code is None:
            stats.units["not_ucum"] += 1
            stats.not_ucum[text] += 1
            quantity.pop("system", None)
            quantity.pop("code", None)
            quantity.setdefault("unit", text)
            return
        stats.units["ucum"] += 1
        if code != text:
            stats.units["aliased"] += 1
            stats.unit_aliases[f"{text} -> {code}"] += 1
        quantity["system"] = UCUM
        quantity["code"] = code
        quantity.setdefault("unit", text)

    # -- coverage -----------------------------------------------------------------------------------

    def _cover(self, rtype: str, concept: dict[str, Any], stats: CoverageStats) -> None:
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        stats.concepts[rtype] += 1
        standard = False
        for coding in codings:
            system = coding.get("system") or ""
            stats.systems[system or "(none)"] += 1
            standard = standard or (bool(system) and self.systems.is_standard(system))
        if standard:
            stats.standard[rtype] += 1
            return
        first = codings[0] if codings else {}
        display = first.get("display") or concept.get("text") or ""
        stats.unmapped[f"{first.get('system', '')}|{first.get('code', '')}|{display}"] += 1

    # -- ICD-9-CM → ICD-10-CM -----------------------------------------------------------------------

    def _map_icd9(self, concept: Any, stats: CoverageStats) -> None:
        if not isinstance(concept, dict):
            return
        codings = concept.get("coding") or []
        icd9 = [c for c in codings if isinstance(c, dict) and c.get("system") == ICD9CM and c.get("code")]
        if not icd9:
            return
        present = {c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == ICD10CM}
        for coding in icd9:
            if self.crosswalk is None:
                stats.icd9["no_gem"] += 1
                continue
            target = self.crosswalk.map_icd9(coding["code"])
            if target is None:
                stats.icd9["unmapped"] += 1
                stats.icd9_unmapped[coding["code"]] += 1
                continue
            kind = "combination" if target.combination else "approximate" if target.approximate else "exact"
            stats.icd9[kind] += 1
            if target.code in present:
                continue
            mapped: dict[str, Any] = {
                "extension": [{"url": GEM_EXTENSION, "valueCode": kind}],
                "system": ICD10CM,
                "code": target.code,
            }
            display = self.crosswalk.display(target.code)
            if display:
                mapped["display"] = display
            codings.append(mapped)
            present.add(target.code)

    # -- canonical units per LOINC code -------------------------------------------------------------

    def _target(self, concept: Any) -> Target | None:
        if isinstance(concept, dict):
            for coding in concept.get("coding") or []:
                if isinstance(coding, dict) and coding.get("system") == LOINC:
                    target = self.targets.get(coding.get("code", ""))
                    if target is not None:
                        return target
        return None

    def _convert_observation(self, observation: dict[str, Any], stats: CoverageStats) -> None:
        target = self._target(observation.get("code"))
        if target is not None:
            self._convert(observation, target, stats)
        for component in observation.get("component") or []:
            if isinstance(component, dict):
                target = self._target(component.get("code"))
                if target is not None:
                    self._convert(component, target, stats)

    def _convert(self, holder: dict[str, Any], target: Target, stats: CoverageStats) -> None:
        quantity = holder.get("valueQuantity")
        if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
            return
        unit = target.unit
        source = quantity.get("code") if quantity.get("system") == UCUM else None
        if source == unit:
            return
        label = f"{target.loinc}: {source or quantity.get('unit', '?')} -> {unit}"
        conversion = self.ucum.conversion(source, unit, target.analyte) if source else None
        if conversion is None and source and target.enzyme and "[IU]" in source:
            conversion = self.ucum.conversion(source.replace("[IU]", "U"), unit, target.analyte)
        if conversion is None:
            stats.not_convertible[label] += 1
            return
        stats.units["converted"] += 1
        stats.conversions[label] += 1
        for item in [quantity, *_range_bounds(holder, source)]:
            item["value"] = _significant(conversion(item["value"]))
            item["code"] = unit
            item["unit"] = unit


def _range_bounds(holder: dict[str, Any], unit: str) -> list[dict[str, Any]]:
    bounds = []
    for reference in holder.get("referenceRange") or []:
        for key in ("low", "high"):
            bound = reference.get(key) if isinstance(reference, dict) else None
            if isinstance(bound, dict) and bound.get("code") == unit and isinstance(bound.get("value"), int | float):
                bounds.append(bound)
    return bounds


def _significant(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")
