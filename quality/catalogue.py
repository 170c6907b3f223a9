"""Load the check catalogue (YAML in quality/catalogue/) and resolve it into `CheckSpec`s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fhirmony.quality.model import CATEGORIES, SEVERITIES, CheckSpec

CATALOGUE_DIR = Path(__file__).with_name("catalogue")
_FILES = ("check_types.yaml", "checks.yaml", "tables.yaml", "terminology.yaml", "labs.yaml")


class CatalogueError(ValueError):
    """The catalogue YAML is malformed; the message names the file and the entry at fault."""


@dataclass(frozen=True)
class FieldInfo:
    """A field the checks use: its expected type family and the column names it may carry."""

    name: str
    type: str
    aliases: tuple[str, ...] = ()

    def column_in(self, columns: Iterable[str]) -> str | None:
        """The first column of `columns` that carries this field, or None."""
        present = set(columns)
        return next((c for c in (self.name, *self.aliases) if c in present), None)


@dataclass
class Catalogue:
    """The resolved catalogue: check types, checks, table fields and terminology."""

    check_types: dict[str, dict[str, Any]]
    checks: list[CheckSpec]
    tables: dict[str, dict[str, FieldInfo]]
    terminology: dict[str, Any]
    labs: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)

    def for_table(self, table: str) -> list[CheckSpec]:
        return [c for c in self.checks if c.table == table and c.scope == "table"]

    def release_checks(self) -> list[CheckSpec]:
        return [c for c in self.checks if c.scope == "release"]

    def field(self, table: str, name: str) -> FieldInfo:
        """The field's declaration; an undeclared field is a plain string column of that name."""
        return self.tables.get(table, {}).get(name) or FieldInfo(name, "string")

    def column(self, table: str, name: str, columns: Iterable[str]) -> str | None:
        return self.field(table, name).column_in(columns)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read the catalogue folder and resolve every entry into a `CheckSpec`."""
    directory = directory or CATALOGUE_DIR
    data = {name: _read(directory / name) for name in _FILES}
    types: dict[str, dict[str, Any]] = data["check_types.yaml"] or {}
    terminology: dict[str, Any] = data["terminology.yaml"] or {}
    labs: list[dict[str, Any]] = data["labs.yaml"] or []
    tables, groups = _tables(data["tables.yaml"] or {})
    for name, ctype in types.items():
        _validate_type(name, ctype)
    checks: list[CheckSpec] = []
    for index, entry in enumerate(data["checks.yaml"] or []):
        where = f"checks.yaml entry {index + 1} ({entry.get('check', '?') if isinstance(entry, dict) else entry})"
        context = {**terminology, "_tables": tables, "_groups": groups}
        checks.extend(_resolve_entry(entry, types, context, labs, where))
    ids = [c.check_id for c in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"checks.yaml: duplicate check ids {duplicates[:5]}")
    return Catalogue(types, checks, tables, terminology, labs, groups)


def _tables(raw: Mapping[str, Any]) -> tuple[dict[str, dict[str, FieldInfo]], dict[str, list[str]]]:
    """Field declarations per table; a group's (`members: [...]`) fields apply to each member."""
    tables: dict[str, dict[str, FieldInfo]] = {}
    groups: dict[str, list[str]] = {}
    for table, decls in raw.items():
        decls = dict(decls or {})
        members = [str(m) for m in decls.pop("members", [])]
        fields = {
            name: FieldInfo(name, str(decl.get("type", "string")), tuple(decl.get("aliases", ())))
            for name, decl in decls.items()
        }
        if members:
            groups[table] = members
        for name in members or [table]:
            tables[name] = fields
    return tables, groups


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"{path}: missing catalogue file") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


def _validate_type(name: str, ctype: Mapping[str, Any]) -> None:
    where = f"check_types.yaml: {name}"
    if ctype.get("category") not in CATEGORIES:
        raise CatalogueError(f"{where}: category must be one of {CATEGORIES}")
    if ctype.get("severity") not in SEVERITIES:
        raise CatalogueError(f"{where}: severity must be one of {SEVERITIES}")
    if ctype.get("context") not in ("verification", "validation"):
        raise CatalogueError(f"{where}: context must be verification or validation")
    for key in ("engine", "description"):
        if key not in ctype:
            raise CatalogueError(f"{where}: missing {key}")


def _resolve_entry(
    entry: Any,
    types: Mapping[str, dict[str, Any]],
    terminology: Mapping[str, Any],
    labs: list[dict[str, Any]],
    where: str,
) -> list[CheckSpec]:
    if not isinstance(entry, dict) or "check" not in entry or "targets" not in entry:
        raise CatalogueError(f"{where}: needs `check` and `targets`")
    check = entry["check"]
    if check not in types:
        raise CatalogueError(f"{where}: unknown check type {check!r}")
    shared = dict(entry.get("params") or {})
    for key in ("severity", "threshold"):
        if key in entry:
            shared[key] = entry[key]
    specs = []
    groups = terminology.get("_groups", {})
    for target, items in (entry["targets"] or {}).items():
        for table in groups.get(target, [target]):
            for item in items or []:
                params = {**shared, **(item if isinstance(item, dict) else {"field": item})}
                if "field" not in params:
                    raise CatalogueError(f"{where}: a target of {target} has no field")
                params.setdefault("group", target)
                for expanded in _expand(entry.get("expand"), params, terminology, labs, where):
                    specs.append(_spec(check, table, expanded, types[check], terminology, where))
    return specs


def _expand(
    kind: str | None,
    params: dict[str, Any],
    terminology: Mapping[str, Any],
    labs: list[dict[str, Any]],
    where: str,
) -> list[dict[str, Any]]:
    if kind is None:
        return [params]
    if kind == "labs":
        return [{**params, **lab, "key": lab["code"], "lab_unit": lab["unit"]} for lab in labs]
    if kind == "systems":
        systems = terminology.get("systems", {})
        names = params.get("systems") or list(systems)
        unknown = [n for n in names if n not in systems]
        if unknown:
            raise CatalogueError(f"{where}: unknown code systems {unknown}")
        return [{**params, "key": n, "system": n} for n in names]
    raise CatalogueError(f"{where}: unknown expand {kind!r} (labs | systems)")


def _spec(
    check: str,
    table: str,
    params: dict[str, Any],
    ctype: Mapping[str, Any],
    terminology: Mapping[str, Any],
    where: str,
) -> CheckSpec:
    params = dict(params)
    column = params.pop("field")
    severity = params.pop("severity", ctype["severity"])
    threshold = float(params.pop("threshold", ctype.get("threshold", 0.0)))
    if severity not in SEVERITIES:
        raise CatalogueError(f"{where}: severity {severity!r} not in {SEVERITIES}")
    if not 0.0 <= threshold <= 1.0:
        raise CatalogueError(f"{where}: threshold {threshold} is not a share in [0, 1]")
    _attach_terminology(check, table, column, params, terminology, where)
    key = params.get("key")
    check_id = f"{check}:{table}.{column}" + (f"[{key}]" if key else "")
    fill = {k: _show(v) for k, v in params.items()}
    try:
        description = str(ctype["description"]).format(table=table, field=column, **fill)
    except KeyError as exc:
        raise CatalogueError(f"{where}: description of {check} needs parameter {exc}") from exc
    return CheckSpec(
        check_id=check_id,
        check=check,
        table=table,
        field=column,
        category=ctype["category"],
        subcategory=str(ctype.get("subcategory") or ""),
        severity=severity,
        context=ctype["context"],
        threshold=threshold,
        description=description,
        params={**params, "engine": ctype["engine"]},
        scope=ctype.get("scope", "table"),
    )


def _attach_terminology(
    check: str, table: str, column: str, params: dict[str, Any], terminology: Mapping[str, Any], where: str
) -> None:
    """Replace names of value sets and code systems by their content."""
    systems = terminology.get("systems", {})
    if check == "value_set":
        name = params.get("value_set")
        values = terminology.get("value_sets", {}).get(name)
        if values is None:
            raise CatalogueError(f"{where}: unknown value set {name!r}")
        params["values"] = list(values)
    if check == "code_format":
        system = systems[params["system"]]
        params.update(system_uri=system["uri"], system_name=system["name"], regex=system["regex"])
        params.pop("systems", None)
    if check == "standard_code_completeness":
        names = terminology.get("standard_systems", {}).get(params.get("group", table), [])
        params["systems"] = names
        params["system_uris"] = [systems[n]["uri"] for n in names]
    if check == "plausible_gender":
        params["system_uris"] = [systems[n]["uri"] for n in params.get("systems", [])]
    if check in ("plausible_unit", "plausible_value_range"):
        params["loinc_uri"] = systems["loinc"]["uri"]
    if check == "datatype":
        declared = terminology.get("_tables", {}).get(table, {}).get(column)
        if declared is None:
            raise CatalogueError(f"{where}: {table}.{column} is not declared in tables.yaml")
        params.setdefault("type", declared.type)
    if check == "duplicate_records":
        params.setdefault("columns", [params.get("field")])


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
