"""Leak scanning: does any file of a release contain a source's identifying strings?

`identifying_strings` collects what must never be released from FHIR resources (ids, names,
addresses, telecoms, identifier values) and source file names; `scan_release` looks for them in
every file of a release folder: Parquet cells, column names and metadata, and any text file
(manifest, datasheet, Croissant, quality report, quarantine summary).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PERSONAL_KEYS = {"family", "given", "line", "city", "district", "postalCode", "prefix", "suffix"}
VALUE_HOLDERS = {"telecom", "identifier"}  # their `value` is identifying wherever they appear
_TOKEN = re.compile(r"[^\s,;|\"'<>()\[\]{}=]+")


@dataclass(frozen=True)
class Leak:
    path: str  # relative to the release folder
    where: str  # column, or "text"
    value: str  # the forbidden string found


def identifying_strings(resources: Iterable[dict[str, Any]], file_names: Iterable[str] = ()) -> set[str]:
    """Logical ids, names, address parts, telecoms and identifier values of `resources`, plus file names."""
    found: set[str] = {Path(name).name for name in file_names}
    for resource in resources:
        if resource.get("id"):
            found.add(str(resource["id"]))
        _collect(resource, found)
    return {s.strip() for s in found if s and s.strip()}


def _collect(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PERSONAL_KEYS:
                found.update(str(v) for v in (value if isinstance(value, list) else [value]))
            elif key in VALUE_HOLDERS:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict) and item.get("value"):
                        found.add(str(item["value"]))
            _collect(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, found)


class _Matcher:
    """Whole-token matches for single tokens, substring matches for phrases with spaces."""

    def __init__(self, forbidden: Iterable[str], min_length: int) -> None:
        strings = {s for s in forbidden if len(s) >= min_length}
        self.tokens = {s for s in strings if _TOKEN.fullmatch(s)}
        self.phrases = sorted(strings - self.tokens)

    def find(self, text: str) -> list[str]:
        hits = [t for t in _TOKEN.findall(text) if t in self.tokens or t.rstrip(".:") in self.tokens]
        hits += [p for p in self.phrases if p in text]
        return hits


def scan_release(
    release_dir: Path, forbidden: Iterable[str], min_length: int = 4, ignore: Iterable[str] = ()
) -> list[Leak]:
    """Every occurrence of a forbidden string (at least `min_length` characters) in the release.

    `ignore` lists strings known to be legitimate (e.g. "Johnson", first author of the PhysioNet
    citation, or test-data patients named after specimen types such as "Serum").
    """
    matcher = _Matcher(set(forbidden) - set(ignore), min_length)
    leaks: list[Leak] = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(release_dir).as_posix()
        if path.suffix == ".parquet":
            leaks += _scan_parquet(path, relative, matcher)
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            leaks += [Leak(relative, "text", hit) for hit in sorted(set(matcher.find(text)))]
    return leaks


def _scan_parquet(path: Path, relative: str, matcher: _Matcher) -> list[Leak]:
    table = pq.read_table(path)
    leaks = [Leak(relative, "schema", hit) for hit in matcher.find(str(table.schema) + str(table.schema.metadata))]
    for name in table.column_names:
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string()) if pa.types.is_integer(column.type) else None
        if column is None:
            continue
        for value in pc.unique(column).to_pylist():
            if value is not None:
                leaks += [Leak(relative, name, hit) for hit in matcher.find(value)]
    return leaks


def redact_quarantine_summary(summary: dict[str, Any], key: bytes) -> dict[str, Any]:
    """A quarantine summary fit for a release: no source file names, no raw reasons.

    Per source and reason class the counts stay; each sample keeps its line and detail (`entry[3]`),
    its file becomes `file-<keyed hash>` (the steward matches it with the unredacted quarantine
    under $FHIRMONY_HOME), and the raw reason text (which may quote ids, values or file names) goes.
    """
    from fhirmony.privacy.pseudonyms import pseudonym

    redacted: dict[str, Any] = {}
    for source_id, entries in summary.items():
        redacted[source_id] = [
            {
                **{k: v for k, v in entry.items() if k != "samples"},
                "samples": [
                    {
                        "file": f"file-{pseudonym(key, source_id, 'file:' + str(s.get('file')))[:12]}",
                        "line": s.get("line"),
                        "detail": s.get("detail"),
                    }
                    for s in entry.get("samples", [])
                ],
            }
            for entry in entries
        ]
    return redacted
