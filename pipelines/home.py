"""The state folder, `$FHIRMONY_HOME` (default `.fhirmony/` in the working directory)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Home:
    """Where every stage keeps its output; one place so that stages agree on paths."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("FHIRMONY_HOME", ".fhirmony")).resolve())

    @property
    def dagster(self) -> Path:
        return self.root / "dagster"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def stage(self, stage: str, source_id: str) -> Path:
        """`stages/<stage>/<source_id>/`: one folder per stage and source partition."""
        return self.root / "stages" / stage / source_id

    def quarantine(self, source_id: str) -> Path:
        """`quarantine/<source_id>/`: rejected records with reason and origin, one NDJSON per stage."""
        return self.root / "quarantine" / source_id
