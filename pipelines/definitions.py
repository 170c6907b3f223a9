"""The Dagster code location: the asset graph of the project's `fhirmony.yaml`.

Which config: `$FHIRMONY_CONFIG`, else `./fhirmony.yaml`, else the embedded demo's config under
`$FHIRMONY_HOME/demo/` (generated on first load), so `dagster dev -w workspace.yaml` always shows a graph.
Cross-cutting policy lives in `fhirmony.assets.graph.build_definitions`, applied once here.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from fhirmony.assets.graph import build_definitions
from fhirmony.config import load_config
from fhirmony.embedded_demo import ensure_demo
from fhirmony.home import Home


def default_config_path(home: Home) -> Path:
    configured = os.environ.get("FHIRMONY_CONFIG")
    if configured:
        return Path(configured).resolve()
    local = Path("fhirmony.yaml")
    if local.exists():
        return local.resolve()
    return ensure_demo(home)


def _load() -> dg.Definitions:
    home = Home.from_env()
    return build_definitions(load_config(default_config_path(home)), home)


defs = _load()
