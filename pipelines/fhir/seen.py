"""Which (type, id) pairs a source has already produced, kept on disk so memory stays flat."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from types import TracebackType


def _digest(text: bytes | str, size: int = 12) -> bytes:
    return hashlib.blake2b(text.encode() if isinstance(text, str) else text, digest_size=size).digest()


class SeenIds:
    """A SQLite index of resource ids (digests) with the content digest and origin of the first copy.

    Looked up one batch at a time, so the cost is one query and one insert per batch; SQLite's page
    cache bounds the memory whatever the number of resources.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        self.con = sqlite3.connect(path)
        self.con.execute("PRAGMA journal_mode = OFF")
        self.con.execute("PRAGMA synchronous = OFF")
        self.con.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, content BLOB, origin TEXT) WITHOUT ROWID")

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.con.close()
        self.path.unlink(missing_ok=True)

    def duplicates(self, items: list[tuple[str, str, bytes, str]]) -> list[str | None]:
        """For each (resource_type, id, body, origin) of a batch: None when first seen (it is recorded),
        else the reason it is a duplicate, naming where the first copy was read."""
        keys = [_digest(f"{resource_type}/{resource_id}") for resource_type, resource_id, _, _ in items]
        known: dict[bytes, tuple[bytes, str]] = {}
        unique = list(set(keys))
        for start in range(0, len(unique), 900):  # below SQLite's bound-parameter limit
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, content, origin in self.con.execute(
                f"SELECT key, content, origin FROM seen WHERE key IN ({marks})", chunk
            ):
                known[key] = (content, origin)
        reasons: list[str | None] = []
        new: list[tuple[bytes, bytes, str]] = []
        for key, (resource_type, resource_id, body, origin) in zip(keys, items, strict=True):
            content = _digest(body)
            first = known.get(key)
            if first is None:
                known[key] = (content, origin)
                new.append((key, content, origin))
                reasons.append(None)
                continue
            kind = "identical copy" if first[0] == content else "conflicting content"
            reasons.append(f"duplicate id ({kind}): {resource_type}/{resource_id} was first read at {first[1]}")
        self.con.executemany("INSERT INTO seen VALUES (?, ?, ?)", new)
        return reasons
