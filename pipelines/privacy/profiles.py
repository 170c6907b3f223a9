"""Privacy profiles (`schemas/privacy/<name>.yaml`) over a shared column allow-list (`columns.yaml`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

COLUMN_RULES = ("keep", "birth-date", "zip3", "age")
ALWAYS_KEPT = ("id", "patient_id", "source_id", "country")  # structural: pseudonymised or provenance
ColumnRule = Literal["keep", "birth-date", "zip3", "age"]


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Profile:
    """What a privacy profile does to each table: see docs/privacy.md."""

    name: str
    description: str
    dates: Literal["shift", "year"]  # every date/timestamp column: per-patient shift, or reduced to year
    max_shift_days: int
    birth_date: Literal["month", "year"]  # precision kept for `birth-date` columns (after any shift)
    age_top_code: int | None  # ages >= this (and birth years implying it) are grouped into it
    restricted_zip3: frozenset[str]  # ZIP3 areas of <= 20,000 people: released as "000"
    split_ratios: tuple[int, int, int]
    k: int
    suppress_below_k: bool
    quasi_identifiers: Mapping[str, str]  # name (age_band, sex, country, region) -> patient column
    sensitive: tuple[str, str] | None  # (table, column) for l-diversity
    tables: Mapping[str, Mapping[str, ColumnRule]] = field(default_factory=dict)

    def columns(self, table_name: str) -> Mapping[str, ColumnRule]:
        """The allow-list of one table; unknown tables release only the structural columns."""
        rules: dict[str, ColumnRule] = {name: "keep" for name in ALWAYS_KEPT}
        rules.update(self.tables.get(table_name, {}))
        return rules


def _schemas_dir() -> Path:
    return Path(str(resources.files("fhirmony.schemas"))) / "privacy"


def available_profiles(directory: Path | None = None) -> list[str]:
    folder = directory or _schemas_dir()
    return sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "columns")


def load_profile(name: str, directory: Path | None = None) -> Profile:
    """Read `<name>.yaml` and merge its column overrides into `columns.yaml`."""
    folder = directory or _schemas_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise ProfileError(f"unknown privacy profile {name!r}; available: {', '.join(available_profiles(folder))}")
    raw = _read(path)
    tables = _merge_columns(_read(folder / "columns.yaml").get("tables", {}), raw.get("columns", {}), path)
    try:
        dates = raw["dates"]
        risk = raw["risk"]
        sensitive = risk.get("sensitive")
        profile = Profile(
            name=raw["name"],
            description=raw["description"].strip(),
            dates=dates["mode"],
            max_shift_days=int(dates.get("max_shift_days", 0)),
            birth_date=dates["birth_date"],
            age_top_code=raw.get("age_top_code"),
            restricted_zip3=frozenset(str(z).zfill(3) for z in raw.get("restricted_zip3", [])),
            split_ratios=tuple(int(raw["splits"][s]) for s in ("train", "validation", "test")),  # type: ignore[arg-type]
            k=int(risk["k"]),
            suppress_below_k=bool(risk.get("suppress_below_k", False)),
            quasi_identifiers=dict(risk["quasi_identifiers"]),
            sensitive=(sensitive["table"], sensitive["column"]) if sensitive else None,
            tables=tables,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ProfileError(f"{path}: missing or invalid key: {error}") from error
    _check(profile, path)
    return profile


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: the top level must be a mapping")
    return data


def _merge_columns(
    base: Mapping[str, Mapping[str, str]], overrides: Mapping[str, Mapping[str, str | None]], path: Path
) -> dict[str, dict[str, ColumnRule]]:
    """Base allow-list plus per-profile overrides; an override of `null` removes a column."""
    merged: dict[str, dict[str, Any]] = {table: dict(cols or {}) for table, cols in base.items()}
    for table, columns in overrides.items():
        target = merged.setdefault(table, {})
        for column, rule in (columns or {}).items():
            if rule is None:
                target.pop(column, None)
            else:
                target[column] = rule
    for table, columns in merged.items():
        for column, rule in columns.items():
            if rule not in COLUMN_RULES:
                raise ProfileError(f"{path}: {table}.{column}: unknown rule {rule!r}; use one of {COLUMN_RULES}")
    return merged


def _check(profile: Profile, path: Path) -> None:
    if profile.dates not in ("shift", "year"):
        raise ProfileError(f"{path}: dates.mode must be shift or year")
    if profile.dates == "shift" and profile.max_shift_days < 1:
        raise ProfileError(f"{path}: dates.max_shift_days must be >= 1 when dates are shifted")
    if profile.birth_date not in ("month", "year"):
        raise ProfileError(f"{path}: dates.birth_date must be month or year")
    if profile.k < 1 or min(profile.split_ratios) < 0 or sum(profile.split_ratios) == 0:
        raise ProfileError(f"{path}: risk.k must be >= 1 and split shares non-negative with a positive sum")
