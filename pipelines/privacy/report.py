"""The privacy section of manifest.json: what the profile did, and the measured risk."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from fhirmony.privacy.profiles import Profile
from fhirmony.privacy.transform import is_id_column


def profile_steps(profile: Profile) -> list[str]:
    """The de-identification steps of `profile`, in plain words, for the datasheet."""
    if profile.dates == "shift":
        dates = (
            f"every date and timestamp moved by one per-patient offset of 1 to {profile.max_shift_days} "
            "days (forward or back) derived from the key, so intervals within a patient are kept"
        )
    else:
        dates = "every date and timestamp reduced to its year (1 January)"
    steps = [
        "columns outside the per-table allow-list dropped (names, addresses, telecoms, free text, "
        "provenance file names and any new column)",
        "`id` and every `*_id` column (except `source_id`) replaced by HMAC-SHA256 pseudonyms keyed by a "
        "secret that is not part of the release, namespaced by source",
        dates,
        f"birth dates reduced to {profile.birth_date}",
    ]
    if profile.age_top_code is not None:
        steps.append(f"ages of {profile.age_top_code} or over grouped into {profile.age_top_code}")
    if profile.restricted_zip3:
        steps.append(
            "US ZIP codes reduced to 3 digits, '000' for the areas of 20,000 people or fewer; "
            "other postal codes removed"
        )
    ratios = "/".join(str(r) for r in profile.split_ratios)
    steps.append(f"patients assigned to train/validation/test ({ratios}) from their pseudonym")
    return steps


def column_plan(table_name: str, schema: pa.Schema, profile: Profile) -> dict[str, list[str]]:
    """Which columns of a harmonized schema are released, pseudonymised, or dropped."""
    rules = profile.columns(table_name)
    kept = [n for n in schema.names if n in rules]
    return {
        "kept": kept,
        "pseudonymised": [n for n in kept if is_id_column(n)],
        "dropped": [n for n in schema.names if n not in rules],
    }


def privacy_report(
    profile: Profile, risk: dict[str, Any] | None = None, columns: dict[str, dict[str, list[str]]] | None = None
) -> dict[str, Any]:
    """manifest["privacy"]: profile, description, steps, splits, per-table column plan, risk."""
    return {
        "profile": profile.name,
        "description": profile.description,
        "steps": profile_steps(profile),
        "split_ratios": dict(zip(("train", "validation", "test"), profile.split_ratios, strict=True)),
        "date_shift_max_days": profile.max_shift_days if profile.dates == "shift" else 0,
        "columns": columns or {},
        "risk": risk or {},
    }
