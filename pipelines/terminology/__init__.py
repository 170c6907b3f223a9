"""Terminology and units: canonical code-system URIs, ICD-9-CM → ICD-10-CM (GEM), UCUM units.

from fhirmony.terminology import Normalizer, CoverageStats
normalizer = Normalizer.from_environment()
stats = CoverageStats()
hints = resolve_hints({"condition": "icd-10-gm"}, {"glucose": "mmol/L"})  # a source's config hints
resource = normalizer.normalize(resource, stats, hints)   # in place; returns the same dict
stats.to_dict()
"""

from fhirmony.terminology.hints import HintError, SourceHints, resolve_hints
from fhirmony.terminology.icd import IcdCrosswalk, dotted_icd9_diagnosis, dotted_icd9_procedure, dotted_icd10
from fhirmony.terminology.normalizer import Normalizer, find_crosswalk
from fhirmony.terminology.stats import CoverageStats
from fhirmony.terminology.systems import canonical_system, system_table
from fhirmony.terminology.units import Ucum

__all__ = [
    "CoverageStats",
    "HintError",
    "IcdCrosswalk",
    "Normalizer",
    "SourceHints",
    "Ucum",
    "canonical_system",
    "dotted_icd9_diagnosis",
    "dotted_icd9_procedure",
    "dotted_icd10",
    "find_crosswalk",
    "resolve_hints",
    "system_table",
]
