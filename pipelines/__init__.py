"""fhirmony: national health datasets to harmonized, FHIR-aligned Parquet releases.

import fhirmony
table = fhirmony.load("RELEASE_ID", "observation", countries=["DE"], split="train")
"""

from typing import Any

__all__ = ["describe", "diff", "load"]


def __getattr__(name: str) -> Any:
    """`fhirmony.load`, `fhirmony.describe`, `fhirmony.diff` from `fhirmony.api`, imported on first use."""
    if name in __all__:
        from fhirmony import api

        return getattr(api, name)
    raise AttributeError(f"module 'fhirmony' has no attribute {name!r}")
