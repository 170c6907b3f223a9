"""The declarative CSV mapping language behind format `csv` (reference: docs/mapping.md)."""

from fhirmony.sources.mapping.model import Mapping, MappingError
from fhirmony.sources.mapping.spec import load_mapping

__all__ = ["Mapping", "MappingError", "load_mapping"]
