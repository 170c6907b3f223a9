"""Canonical code-system URIs and the aliases national extracts use for them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from fhirmony.terminology.tables import load_table

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
OPS = "http://fhir.de/CodeSystem/bfarm/ops"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
NDC = "http://hl7.org/fhir/sid/ndc"

# Code systems defined by FHIR and HL7 Terminology are standard too (categories, statuses, ...), and so
# are the national code systems HL7 Germany publishes under fhir.de (Kontaktebene, Kontaktart, ...).
_STANDARD_PREFIXES = ("http://terminology.hl7.org/", "http://hl7.org/fhir/", "http://fhir.de/CodeSystem/")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def alias_key(text: str) -> str:
    """The form aliases are matched in: lower case, no spaces, '-', '_', '.' or trailing '/'."""
    return _SEPARATORS.sub("", text.strip().rstrip("/").lower())


@dataclass(frozen=True, slots=True)
class SystemTable:
    """Alias → canonical URI, and URI → display name, for every known code system."""

    by_alias: dict[str, str]
    names: dict[str, str]
    standard: frozenset[str]

    def canonical(self, system: str) -> str | None:
        """The canonical URI of `system` (a URI, name, OMOP vocabulary_id or OID), or None if unknown."""
        if system in self.names:
            return system
        return self.by_alias.get(alias_key(system))

    def is_standard(self, uri: str) -> bool:
        return uri in self.standard or uri.startswith(_STANDARD_PREFIXES)


@cache
def system_table() -> SystemTable:
    """The table from `schemas/terminology/code_systems.json`, built once per process."""
    by_alias: dict[str, str] = {}
    names: dict[str, str] = {}
    standard: set[str] = set()
    for entry in load_table("code_systems.json")["systems"]:
        uri = entry["uri"]
        names[uri] = entry["name"]
        if entry.get("standard"):
            standard.add(uri)
        for alias in [uri, entry["name"], *entry.get("aliases", [])]:
            by_alias[alias_key(alias)] = uri
    return SystemTable(by_alias, names, frozenset(standard))


def canonical_system(system: str) -> str:
    """`canonical_system("ICD10CM") == "http://hl7.org/fhir/sid/icd-10-cm"`; unknown systems unchanged."""
    return system_table().canonical(system) or system
