"""The release writer: combine every source's deidentified tables into one immutable release folder.

Layout (contract in DESIGN.md): data/<table>/country=XX/part-<source>.parquet (zstd), catalog.duckdb,
manifest.json (sha256 of every file), datasheet, croissant.json, quality/. The release is built in
a hidden staging folder and renamed into place at the end, so a failed run leaves no half release.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq

from fhirmony.config import ProjectConfig
from fhirmony.home import Home
from fhirmony.stages.landing import sha256_file

MANIFEST = "manifest.json"
CATALOG = "catalog.duckdb"


@dataclass(frozen=True)
class DataFile:
    table: str
    country: str
    source_id: str
    path: Path  # inside the release


def new_release_id(name: str, version: str, now: datetime | None = None) -> str:
    """`<name>-<version>-<UTC timestamp>`: a new id for every run; releases are never overwritten."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    slug = re.sub(r"[^a-z0-9.]+", "-", f"{name}-{version}".lower()).strip("-")
    return f"{slug}-{stamp}"


def staging_folder(home: Home, release_id: str) -> Path:
    folder = home.releases / f".staging-{release_id}"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    (folder / "quality").mkdir()
    return folder


def copy_tables(home: Home, config: ProjectConfig, tables: list[str], staging: Path, stage: str) -> list[DataFile]:
    """Rewrite each source's stage Parquet into data/<table>/country=XX/part-<source>.parquet."""
    files: list[DataFile] = []
    for table in tables:
        for source in config.sources:
            origin = home.stage(stage, source.id) / f"{table}.parquet"
            if not origin.exists():
                continue
            target = staging / "data" / table / f"country={source.country}" / f"part-{source.id}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)
            files.append(DataFile(table, source.country, source.id, target))
    return files


def build_catalog(staging: Path, tables: list[str]) -> Path:
    """catalog.duckdb: one view per table over data/ (paths relative to the release folder)."""
    path = staging / CATALOG
    con = duckdb.connect(str(path))
    try:
        con.execute(f"SET file_search_path = '{staging.as_posix()}'")  # views bind relative to the release
        for table in tables:
            if any((staging / "data" / table).glob("*/*.parquet")):
                con.execute(
                    f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM '
                    f"read_parquet('data/{table}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
                )
    finally:
        con.close()
    return path


def connect_catalog(release_dir: Path) -> duckdb.DuckDBPyConnection:
    """Open a release's catalog read-only, resolving its relative Parquet paths against the release."""
    con = duckdb.connect(str(release_dir / CATALOG), read_only=True)
    con.execute(f"SET file_search_path = '{release_dir.as_posix()}'")
    return con


def file_entries(release_dir: Path, known: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every file of the release except the manifest: path, sha256, bytes, and rows for Parquet.
    Entries in `known` (by path, from an earlier pass over unchanged files) are not hashed again."""
    entries = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file() and p.name != MANIFEST):
        relative = path.relative_to(release_dir).as_posix()
        if known and relative in known and known[relative]["bytes"] == path.stat().st_size:
            entries.append(known[relative])
            continue
        entry: dict[str, Any] = {
            "path": relative,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
        if path.suffix == ".parquet":
            entry["rows"] = pq.ParquetFile(path).metadata.num_rows
        entries.append(entry)
    return entries


def write_manifest(
    release_dir: Path, manifest: dict[str, Any], known: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Write manifest.json with an entry per file; returns the entries by path (pass them back as
    `known` when only new files were added since, so unchanged files are not hashed twice)."""
    files = file_entries(release_dir, known)
    manifest = {**manifest, "files": files}
    (release_dir / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return {entry["path"]: entry for entry in files}


def verify_manifest(release_dir: Path) -> list[str]:
    """Problems found re-hashing every file listed in the manifest (empty when the release is intact)."""
    manifest = orjson.loads((release_dir / MANIFEST).read_bytes())
    problems = []
    for entry in manifest["files"]:
        path = release_dir / entry["path"]
        if not path.exists():
            problems.append(f"{entry['path']}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs from the manifest")
    return problems


def finalize(staging: Path, home: Home, release_id: str) -> Path:
    final = home.releases / release_id
    staging.rename(final)
    return final


def list_releases(home: Home) -> list[dict[str, Any]]:
    """Every published release, newest first: id, version, created, tables, rows, countries."""
    found = []
    if not home.releases.exists():
        return found
    for folder in home.releases.iterdir():
        manifest_path = folder / MANIFEST
        if folder.name.startswith(".") or not manifest_path.exists():
            continue
        manifest = orjson.loads(manifest_path.read_bytes())
        found.append(
            {
                "id": manifest["id"],
                "version": manifest.get("version"),
                "created": manifest.get("created"),
                "licence": manifest.get("licence"),
                "countries": sorted({s["country"] for s in manifest.get("sources", [])}),
                "tables": len(manifest.get("tables", {})),
                "rows": sum(t.get("rows", 0) for t in manifest.get("tables", {}).values()),
                "path": str(folder),
            }
        )
    return sorted(found, key=lambda r: r["created"] or "", reverse=True)


def resolve_release(home: Home, release: str | None) -> Path:
    """A release id under $FHIRMONY_HOME/releases, a path to a release folder, or the newest (None)."""
    if release:
        candidate = Path(release)
        if (candidate / MANIFEST).exists():
            return candidate.resolve()
        candidate = home.releases / release
        if (candidate / MANIFEST).exists():
            return candidate
        raise FileNotFoundError(f"no release {release!r} in {home.releases} (see `fhirmony releases`)")
    releases = list_releases(home)
    if not releases:
        raise FileNotFoundError(f"no releases in {home.releases}: run `fhirmony run` or `fhirmony demo` first")
    return Path(releases[0]["path"])
