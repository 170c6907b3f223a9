"""The landing stage: a manifest of a source's input files (sha256, size), before anything reads them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhirmony.config import SourceConfig
from fhirmony.home import Home
from fhirmony.sources import reader_for
from fhirmony.sources.base import relative_name

STAGE = "landing"
CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    path: str  # relative to the source path
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def run_landing(source: SourceConfig, home: Home) -> dict[str, Any]:
    """Hash every input file of the source; write `stages/landing/<source>/manifest.json`."""
    reader = reader_for(source)
    files = [
        LandedFile(relative_name(path, source.path), sha256_file(path), path.stat().st_size) for path in reader.files()
    ]
    if not files:
        raise FileNotFoundError(f"source {source.id!r}: no input files for format {source.format!r} in {source.path}")
    ignored = getattr(reader, "ignored_files", list)()
    manifest = {
        "source_id": source.id,
        "country": source.country,
        "format": source.format,
        "path": str(source.path),
        "licence": source.licence,
        "files": [f.to_dict() for f in files],
        "ignored_files": [relative_name(p, source.path) for p in ignored],
        "bytes": sum(f.bytes for f in files),
        "fingerprint": hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest(),
    }
    out = home.stage(STAGE, source.id)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest
