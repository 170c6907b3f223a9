"""The curated terminology tables shipped as data in `schemas/terminology/` (read once per process)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_table(name: str) -> dict[str, Any]:
    """One JSON table from `fhirmony.schemas/terminology/`, parsed once and cached."""
    text = resources.files("fhirmony.schemas").joinpath("terminology", name).read_text(encoding="utf-8")
    return json.loads(text)
