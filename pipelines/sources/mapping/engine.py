"""One CSV row → one FHIR resource, following a compiled file rule; problems name the rule at fault."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from fhirmony.sources.mapping.model import FieldRule, FileRule, Mapping, QuantityRule, Step, Template
from fhirmony.sources.mapping.units import UCUM_SYSTEM, ConversionError, convert, significant

_MISSING: Any = object()
TRUE = frozenset({"true", "1", "yes", "y", "ja", "j"})
FALSE = frozenset({"false", "0", "no", "n", "nei"})

Problem = tuple[str, str, str]  # (rule label, class, message); the class heads the quarantine reason
MISSING, UNMAPPED, INVALID, DATE, UNITS = "missing value", "unmapped value", "invalid value", "invalid date", "unit"


class _Invalid(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RowMapper:
    """Maps the rows of one file; `tables` holds the loaded lookup tables by name."""

    def __init__(self, mapping: Mapping, rule: FileRule, tables: dict[str, dict[str, Any]]) -> None:
        self.mapping = mapping
        self.rule = rule
        self.tables = tables
        self.options = rule.options

    def build(self, fields: dict[str, str]) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The resource of one row (column → text), or the problems that prevent it."""
        nulls = self.options.null_values
        row = {column: "" if (text := value.strip()) in nulls else text for column, value in fields.items()}
        problems: list[Problem] = []
        for join in self.rule.joins:
            key = join.key.render(row)
            if key is None:
                if join.required:
                    empty = ", ".join(join.key.empty_fields(row))
                    problems.append(
                        (
                            join.label,
                            MISSING,
                            f"column {empty} is empty (the join on table {join.table} requires a value)",
                        )
                    )
                continue
            entry = self.tables[join.table].get(key)
            if entry is None:
                if join.required:
                    problems.append(
                        (join.label, UNMAPPED, f"{key!r} ({_key_source(join.key)}) is not in table {join.table}")
                    )
                continue
            if isinstance(entry, dict):
                for attribute, value in entry.items():
                    row[f"{join.alias}.{attribute}"] = "" if value is None else str(value)
            else:
                row[join.alias] = str(entry)
        resource: dict[str, Any] = {"resourceType": self.rule.resource}
        holes = False
        resource_id = self.rule.id.render(row)
        if resource_id is None:
            empty = ", ".join(self.rule.id.empty_fields(row))
            problems.append(
                (f"files[{self.rule.index}].id", MISSING, f"id template {self.rule.id.text!r}: {empty} empty")
            )
        else:
            resource["id"] = resource_id
        for field_rule in self.rule.fields:
            try:
                value = self.evaluate(field_rule, row)
            except _Invalid as error:
                problems.append((field_rule.label, error.kind, str(error)))
                continue
            if value is not _MISSING:
                holes = set_path(resource, field_rule.steps, value) or holes
        if problems:
            return None, problems
        return (compact(resource) if holes else resource), []

    def evaluate(self, rule: FieldRule, row: dict[str, str]) -> Any:
        if rule.is_constant:
            return copy.deepcopy(rule.value) if isinstance(rule.value, dict | list) else rule.value
        if rule.quantity is not None:
            value = self.quantity(rule.quantity, row)
            if value is _MISSING and rule.required:
                raise _Invalid(MISSING, f"column {rule.quantity.value} is empty (required)")
            return value
        if rule.column is not None:
            raw = row.get(rule.column, "")
        else:
            assert rule.template is not None
            raw = rule.template.render(row) or ""
        if not raw:
            if rule.has_default:
                return rule.default
            if rule.required:
                raise _Invalid(MISSING, f"{_where(rule, row)} is empty (required)")
            return _MISSING
        for pattern, replacement in rule.replace:
            raw = pattern.sub(replacement, raw)
        if rule.map is not None:
            mapped = rule.map.get(raw, _MISSING)
            if mapped is _MISSING:
                if rule.unmapped == "error":
                    raise _Invalid(
                        UNMAPPED, f"{raw!r} ({_where(rule, row)}) is not in {rule.map_name} (unmapped: error)"
                    )
                if rule.unmapped == "omit":
                    if rule.required:
                        raise _Invalid(
                            UNMAPPED,
                            f"{raw!r} ({_where(rule, row)}) is not in {rule.map_name} and the rule is required",
                        )
                    return _MISSING
            elif isinstance(mapped, str):
                raw = mapped
            else:
                return copy.deepcopy(mapped) if isinstance(mapped, dict | list) else mapped
        return self.convert(rule, raw)

    def convert(self, rule: FieldRule, raw: str) -> Any:
        kind = rule.type
        if kind in ("string", "code"):
            return raw
        if kind == "integer":
            try:
                return int(raw)
            except ValueError:
                raise _Invalid(INVALID, f"{raw!r} is not a whole number") from None
        if kind == "decimal":
            return self.decimal(raw)
        if kind == "boolean":
            lowered = raw.lower()
            if lowered in TRUE:
                return True
            if lowered in FALSE:
                return False
            raise _Invalid(INVALID, f"{raw!r} is not a boolean (true/false, 1/0, ja/nei, yes/no)")
        if kind == "date":
            fmt, text = rule.format or self.options.date_format, rule.format_text or self.options.date_format_text
            return self.parse(raw, fmt, text, "date").date().isoformat()
        return self.date_time(rule, raw)

    def date_time(self, rule: FieldRule, raw: str) -> str:
        fmt = rule.format or self.options.datetime_format
        text = rule.format_text or self.options.datetime_format_text
        try:
            moment = datetime.strptime(raw, fmt)
        except ValueError:
            try:  # a dateTime may hold just a date
                return datetime.strptime(raw, self.options.date_format).date().isoformat()
            except ValueError:
                pass
            moment = self.parse(raw, fmt, text, "dateTime")
        if "%H" not in fmt:
            return moment.date().isoformat()
        if moment.tzinfo is None:
            if self.options.timezone is None:
                raise _Invalid(DATE, "a dateTime with a time needs a time zone: set timezone: in defaults or the file")
            moment = moment.replace(tzinfo=self.options.timezone)
        return moment.isoformat()

    @staticmethod
    def parse(raw: str, fmt: str, text: str, kind: str) -> datetime:
        try:
            return datetime.strptime(raw, fmt)
        except ValueError as error:
            reason = str(error)
            detail = f" ({reason})" if "out of range" in reason or "must be in" in reason else ""
            raise _Invalid(DATE, f"{raw!r} is not a {kind} in format {text}{detail}") from None

    def decimal(self, raw: str) -> float:
        text = raw.replace(self.options.decimal_separator, ".") if self.options.decimal_separator != "." else raw
        try:
            return float(text)
        except ValueError:
            raise _Invalid(
                INVALID, f"{raw!r} is not a number (decimal separator {self.options.decimal_separator!r})"
            ) from None

    def quantity(self, rule: QuantityRule, row: dict[str, str]) -> Any:
        raw = row.get(rule.value, "")
        if not raw:
            return _MISSING
        value = self.decimal(raw)
        local = rule.unit.render(row) if rule.unit else None
        if not local:
            raise _Invalid(MISSING, f"value {raw!r} has no unit ({rule.unit.text if rule.unit else 'unit:'} is empty)")
        unit = local
        if rule.units is not None:
            mapped = rule.units.get(local)
            if not isinstance(mapped, str):
                raise _Invalid(UNMAPPED, f"unit {local!r} is not in {rule.units_name}")
            unit = mapped
        target = rule.to.render(row) if rule.to else None
        if target and target != unit:
            try:
                value = convert(value, unit, target, self.molar_mass(rule, row), self.mapping.conversions)
            except ConversionError as error:
                raise _Invalid(UNITS, str(error)) from None
            unit = target
            value = round(value, rule.digits) if rule.digits is not None else significant(value)
        elif rule.digits is not None:
            value = round(value, rule.digits)
        return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": unit}

    @staticmethod
    def molar_mass(rule: QuantityRule, row: dict[str, str]) -> float | None:
        if isinstance(rule.molar_mass, Template):
            text = rule.molar_mass.render(row)
            try:
                return float(text) if text else None
            except ValueError:
                raise _Invalid(INVALID, f"molar mass {text!r} is not a number") from None
        return rule.molar_mass


def _key_source(key: Template) -> str:
    return f"column {key.fields[0]}" if key.text == f"{{{key.fields[0]}}}" else f"key {key.text!r}"


def _where(rule: FieldRule, row: dict[str, str]) -> str:
    if rule.column is not None:
        return f"column {rule.column}"
    assert rule.template is not None
    return f"template {rule.template.text!r} ({', '.join(rule.template.empty_fields(row))} empty)"


def set_path(resource: dict[str, Any], steps: tuple[Step, ...], value: Any) -> bool:
    """Set `code.coding[0].code`-style paths, creating objects and lists on the way; objects merge.

    Returns True when a list got a hole (`given[1]` before `given[0]`): `compact` removes it.
    """
    holes = False
    node: Any = resource
    last = len(steps) - 1
    for position, step in enumerate(steps):
        if step.index is None:
            if position == last:
                _put(node, step.key, value)
                return holes
            child = node.get(step.key)
            if not isinstance(child, dict):
                child = node[step.key] = {}
            node = child
        else:
            items = node.get(step.key)
            if not isinstance(items, list):
                items = node[step.key] = []
            holes = holes or len(items) < step.index
            while len(items) <= step.index:
                items.append(None)
            if position == last:
                _put(items, step.index, value)
                return holes
            if not isinstance(items[step.index], dict):
                items[step.index] = {}
            node = items[step.index]
    return holes


def _put(container: Any, key: Any, value: Any) -> None:
    existing = container[key] if isinstance(container, list) else container.get(key)
    if isinstance(existing, dict) and isinstance(value, dict):
        existing.update(value)
    else:
        container[key] = value


def compact(node: Any) -> Any:
    """Drop the holes a sparse row leaves: None in lists, empty objects and lists."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            value = compact(value)
            if value is None or value == {} or value == []:
                continue
            out[key] = value
        return out
    if isinstance(node, list):
        items = [compact(item) for item in node]
        return [item for item in items if item is not None and item != {} and item != []]
    return node
