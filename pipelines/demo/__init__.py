"""The embedded demo: synthetic countries in different formats and conventions, with known defects."""

from fhirmony.demo.generate import SOURCE_IDS, generate

__all__ = ["SOURCE_IDS", "generate"]
