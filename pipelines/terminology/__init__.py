"""Terminology and units: canonical code-system URIs, ICD-9-CM → ICD-10-CM (GEM), UCUM units.

from fhirmony.terminology import Normalizer, CoverageStats
normalizer = Normalizer.from_environment()
stats = CoverageStats()
resource = normalizer.normalize(resource, stats)   # in place; returns the same dict
stats.to_dict()
"""

from fhirmony.terminology.icd import IcdCrosswalk, dotted_icd9_diagnosis, dotted_icd9_procedure, dotted_icd10
from fhirmony.terminology.normalizer import Normalizer, find_crosswalk
from fhirmony.terminology.stats import CoverageStats
from fhirmony.terminology.systems import canonical_system, system_table
from fhirmony.terminology.units import Ucum

__all__ = [
    "CoverageStats",
    "IcdCrosswalk",
    "Normalizer",
    "Ucum",
    "canonical_system",
    "dotted_icd9_diagnosis",
    "dotted_icd9_procedure",
    "dotted_icd10",
    "find_crosswalk",
    "system_table",
]
