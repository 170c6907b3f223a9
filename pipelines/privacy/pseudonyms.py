"""Keyed, deterministic pseudonyms, per-patient date offsets and patient-level splits.

Everything here is a pure function of (key, source_id, value): chunks and partitions processed
in different processes, or in different releases, agree without sharing any state.
"""

from __future__ import annotations

import hashlib
import hmac

SEPARATOR = b"\x1f"
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collisions are negligible at any realistic number of ids
SPLITS = ("train", "validation", "test")


def _digest(key: bytes, *parts: str) -> bytes:
    message = SEPARATOR.join(part.encode("utf-8") for part in parts)
    return hmac.new(key, message, hashlib.sha256).digest()


def pseudonym(key: bytes, source_id: str, value: str) -> str:
    """HMAC-SHA256 of `value` namespaced by its source, as 32 hex characters."""
    return _digest(key, "id", source_id, value).hex()[:PSEUDONYM_HEX_CHARS]


def date_offset_days(key: bytes, source_id: str, patient_id: str | None, max_days: int) -> int:
    """A per-patient shift in days, never 0, in [-max_days, -1] ∪ [1, max_days].

    `patient_id` is the original (not yet pseudonymised) id. Rows without a patient use one
    offset per source, so their dates are still moved.
    """
    digest = _digest(key, "date-shift", source_id, patient_id or "")
    number = int.from_bytes(digest[:8], "big")
    magnitude = 1 + number % max_days
    return magnitude if (number >> 63) & 1 else -magnitude


def assign_split(patient_pseudonym: str, ratios: tuple[int, int, int] = (80, 10, 10)) -> str:
    """`train`, `validation` or `test` from the pseudonym alone: stable while the key is.

    The bucket is SHA-256 of the pseudonym modulo the sum of `ratios`, so every country's
    patients fall into the splits in the same proportions in expectation.
    """
    total = sum(ratios)
    bucket = int.from_bytes(hashlib.sha256(patient_pseudonym.encode("utf-8")).digest()[:8], "big") % total
    boundary = 0
    for name, share in zip(SPLITS, ratios, strict=True):
        boundary += share
        if bucket < boundary:
            return name
    raise AssertionError("unreachable: bucket < total")
