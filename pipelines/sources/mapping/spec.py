"""The mapping language: load a mapping YAML, validate every key, compile it into rules.

A mapping error names the mapping file and the key at fault (`files[2].fields.code: unknown key
'colum'`), so a data engineer fixes the YAML without reading Python. `docs/mapping.md` is the
reference; `schemas/mappings/no-register.yaml` is the worked example.
"""

from __future__ import annotations

import codecs
import re
import string
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from fhirmony.sources.mapping.model import (
    CSV_KEYS,
    LANGUAGE_VERSION,
    NOT_SET,
    TYPES,
    UNMAPPED,
    CsvOptions,
    FieldRule,
    FileRule,
    Join,
    Mapping,
    MappingError,
    QuantityRule,
    Table,
    Template,
    parse_path,
    strptime_format,
)
from fhirmony.sources.mapping.units import Conversion


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML; `MappingError` names the file and the key at fault."""
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"mapping file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: not valid YAML: {error}") from None
    return _Compiler(path).mapping(raw)


class _Compiler:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> MappingError:
        return MappingError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def keys(self, node: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise self.fail(key, f"must be a mapping with keys {', '.join(allowed)}")
        for name in node:
            if isinstance(name, bool):
                raise self.fail(key, f"a key reads as {name}: YAML takes bare on, off, yes, no as booleans; quote it")
            if name not in allowed:
                raise self.fail(
                    f"{key}.{name}" if key else str(name), f"unknown key (expected one of: {', '.join(allowed)})"
                )
        for name in required:
            if name not in node:
                raise self.fail(key, f"missing required key {name!r}")
        return node

    def text(self, node: Any, key: str) -> str:
        if isinstance(node, bool) or not isinstance(node, str | int | float):
            hint = " (YAML reads NO, yes, on, off as booleans: quote them)" if isinstance(node, bool) else ""
            raise self.fail(key, f"must be a text{hint}")
        return str(node)

    def mapping(self, raw: Any) -> Mapping:
        top = self.keys(
            raw,
            "",
            ("mapping", "name", "description", "defaults", "tables", "conversions", "files"),
            ("mapping", "files"),
        )
        if top["mapping"] != LANGUAGE_VERSION:
            raise self.fail(
                "mapping", f"unsupported language version {top['mapping']!r} (this is version {LANGUAGE_VERSION})"
            )
        defaults = self.options(top.get("defaults") or {}, "defaults", CsvOptions())
        tables: dict[str, Table] = {}
        raw_tables = top.get("tables") or {}
        if not isinstance(raw_tables, dict):
            raise self.fail("tables", "must be a mapping of table name → table")
        for name, node in raw_tables.items():
            tables[str(name)] = self.table(str(name), node, defaults)
        conversions = self.conversions(top.get("conversions") or [])
        raw_files = top["files"]
        if not isinstance(raw_files, list) or not raw_files:
            raise self.fail("files", "must be a non-empty list of file mappings")
        files = tuple(self.file(index, node, defaults, tables) for index, node in enumerate(raw_files))
        return Mapping(
            self.path,
            str(top.get("name") or self.path.stem),
            str(top.get("description") or ""),
            tables,
            files,
            conversions,
        )

    def options(self, node: Any, key: str, base: CsvOptions, extra: tuple[str, ...] = ()) -> CsvOptions:
        node = self.keys(node, key, CSV_KEYS + extra)
        values: dict[str, Any] = {}
        for name in ("delimiter", "quotechar", "decimal_separator"):
            if name in node:
                value = self.text(node[name], f"{key}.{name}")
                if len(value) != 1:
                    raise self.fail(f"{key}.{name}", f"must be one character, not {value!r}")
                values[name] = value
        if "encoding" in node:
            encoding = self.text(node["encoding"], f"{key}.encoding")
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise self.fail(f"{key}.encoding", f"unknown encoding {encoding!r}") from None
            values["encoding"] = encoding
        if "header" in node:
            if not isinstance(node["header"], bool):
                raise self.fail(f"{key}.header", "must be true or false")
            values["header"] = node["header"]
        if "columns" in node:
            columns = node["columns"]
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise self.fail(f"{key}.columns", "must be a list of column names")
            values["columns"] = tuple(columns)
        for name in ("date_format", "datetime_format"):
            if name in node:
                text = self.text(node[name], f"{key}.{name}")
                values[name] = strptime_format(text)
                values[f"{name}_text"] = text
        if "timezone" in node:
            zone = self.text(node["timezone"], f"{key}.timezone")
            try:
                values["timezone"] = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.fail(f"{key}.timezone", f"unknown time zone {zone!r} (e.g. Europe/Oslo)") from None
        if "null_values" in node:
            nulls = node["null_values"]
            if not isinstance(nulls, list):
                raise self.fail(f"{key}.null_values", "must be a list of texts that mean 'no value'")
            values["null_values"] = frozenset(self.text(v, f"{key}.null_values") for v in nulls) | {""}
        fields = {name: getattr(base, name) for name in CsvOptions.__dataclass_fields__}
        fields.update(values)
        options = CsvOptions(**fields)
        if not options.header and "columns" in node and not options.columns:
            raise self.fail(f"{key}.columns", "a file without header needs its column names")
        return options

    def table(self, name: str, node: Any, defaults: CsvOptions) -> Table:
        key = f"tables.{name}"
        node = self.keys(node, key, ("values", "file", "key", "columns", *CSV_KEYS))
        if ("values" in node) == ("file" in node):
            raise self.fail(key, "needs exactly one of values: (inline) or file: (a file of the extract)")
        if "values" in node:
            values = node["values"]
            if not isinstance(values, dict) or not values:
                raise self.fail(f"{key}.values", "must be a non-empty mapping of local value → standard value")
            for entry_key, entry in values.items():
                if isinstance(entry_key, bool) or isinstance(entry, bool):
                    raise self.fail(
                        f"{key}.values.{entry_key}",
                        "a boolean here is almost always YAML reading NO, yes, on or off: quote the value",
                    )
            return Table(name, key, values={str(k): v for k, v in values.items()})
        self.keys(node, key, ("file", "key", "columns", *CSV_KEYS), ("file", "key", "columns"))
        columns = node["columns"]
        if not isinstance(columns, list) or not columns:
            raise self.fail(f"{key}.columns", "must list the columns the lookup adds")
        options = self.options({k: v for k, v in node.items() if k in CSV_KEYS and k != "columns"}, key, defaults)
        return Table(
            name,
            key,
            file=self.text(node["file"], f"{key}.file"),
            key=self.key_template(node["key"], f"{key}.key"),
            columns=tuple(str(c) for c in columns),
            options=options,
        )

    def conversions(self, node: Any) -> dict[tuple[str, str], Conversion]:
        if not isinstance(node, list):
            raise self.fail("conversions", "must be a list of {from, to, factor, offset}")
        out: dict[tuple[str, str], Conversion] = {}
        for index, item in enumerate(node):
            key = f"conversions[{index}]"
            item = self.keys(item, key, ("from", "to", "factor", "offset"), ("from", "to", "factor"))
            factor, offset = item["factor"], item.get("offset", 0.0)
            if not isinstance(factor, int | float) or not isinstance(offset, int | float):
                raise self.fail(key, "factor and offset must be numbers")
            source, target = self.text(item["from"], f"{key}.from"), self.text(item["to"], f"{key}.to")
            out[(source, target)] = Conversion(source, target, float(factor), float(offset))
        return out

    def file(self, index: int, node: Any, defaults: CsvOptions, tables: dict[str, Table]) -> FileRule:
        key = f"files[{index}]"
        node = self.keys(
            node, key, ("file", "resource", "id", "join", "fields", *CSV_KEYS), ("file", "resource", "id", "fields")
        )
        resource = self.text(node["resource"], f"{key}.resource")
        if not _is_resource_type(resource):
            raise self.fail(f"{key}.resource", f"{resource!r} is not a FHIR R4 resource type")
        options = self.options({k: v for k, v in node.items() if k in CSV_KEYS}, key, defaults)
        if not options.header and not options.columns:
            raise self.fail(f"{key}.columns", "header: false needs columns: [names]")
        joins = tuple(self.join(f"{key}.join[{i}]", item, tables) for i, item in enumerate(node.get("join") or []))
        aliases = [join.alias for join in joins]
        if len(set(aliases)) != len(aliases):
            raise self.fail(f"{key}.join", "two joins use the same alias (as:)")
        fields_node = node["fields"]
        if not isinstance(fields_node, dict) or not fields_node:
            raise self.fail(f"{key}.fields", "must map FHIR element paths to rules")
        fields = tuple(self.field(f"{key}.fields.{p}", str(p), rule, tables) for p, rule in fields_node.items())
        rule = FileRule(
            index,
            self.text(node["file"], f"{key}.file"),
            resource,
            self.template(node["id"], f"{key}.id"),
            joins,
            fields,
            options,
        )
        self.check_join_references(rule, tables)
        for field_rule in fields:
            fmt = field_rule.format or options.datetime_format
            if field_rule.type == "dateTime" and "%H" in fmt and "%z" not in fmt and options.timezone is None:
                raise self.fail(
                    field_rule.label,
                    "a dateTime with a time of day needs timezone: (in defaults: or "
                    "the file), e.g. Europe/Oslo; FHIR requires the offset",
                )
        return rule

    def join(self, key: str, node: Any, tables: dict[str, Table]) -> Join:
        node = self.keys(node, key, ("table", "column", "as", "required"), ("table", "column"))
        table = self.text(node["table"], f"{key}.table")
        if table not in tables:
            raise self.fail(f"{key}.table", f"no table {table!r} under tables: (known: {', '.join(tables) or 'none'})")
        required = node.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(f"{key}.required", "must be true or false")
        alias = self.text(node.get("as", table), f"{key}.as")
        return Join(table, self.key_template(node["column"], f"{key}.column"), alias, required, key)

    def key_template(self, node: Any, key: str) -> Template:
        """A column name (`analysekode`) or a template of several (`{icd_version}|{icd_code}`)."""
        text = self.text(node, key)
        template = self.template(text if "{" in text else f"{{{text}}}", key)
        if not template.fields:
            raise self.fail(key, f"{text!r} names no column")
        return template

    def field(self, key: str, path: str, node: Any, tables: dict[str, Table]) -> FieldRule:
        steps = parse_path(path)
        if steps is None:
            raise self.fail(key, "not an element path (e.g. code.coding[0].code)")
        if steps[0].key in ("resourceType", "id"):
            raise self.fail(key, "resourceType and id are set by the file's resource: and id:")
        if not isinstance(node, dict):
            if isinstance(node, str):
                return FieldRule(path, steps, key, template=self.template(node, key))
            if node is None:
                raise self.fail(key, "has no value")
            return FieldRule(path, steps, key, value=node)
        node = self.keys(
            node,
            key,
            (
                "column",
                "template",
                "value",
                "type",
                "format",
                "map",
                "unmapped",
                "required",
                "default",
                "replace",
                "quantity",
            ),
        )
        sources = [name for name in ("column", "template", "value", "quantity") if name in node]
        if len(sources) != 1:
            raise self.fail(key, "needs exactly one of column:, template:, value:, quantity:")
        required = node.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(f"{key}.required", "must be true or false")
        if "quantity" in node:
            extra = set(node) - {"quantity", "required"}
            if extra:
                raise self.fail(key, f"a quantity rule takes only quantity: and required: (not {', '.join(extra)})")
            return FieldRule(
                path, steps, key, quantity=self.quantity(f"{key}.quantity", node["quantity"], tables), required=required
            )
        type_ = node.get("type", "string")
        if type_ not in TYPES:
            raise self.fail(f"{key}.type", f"unknown type {type_!r} (one of: {', '.join(TYPES)})")
        fmt = fmt_text = None
        if "format" in node:
            if type_ not in ("date", "dateTime"):
                raise self.fail(f"{key}.format", "only a date or dateTime rule takes a format")
            fmt_text = self.text(node["format"], f"{key}.format")
            fmt = strptime_format(fmt_text)
        value_map, map_name = None, ""
        if "map" in node:
            value_map, map_name = self.value_map(f"{key}.map", node["map"], tables)
        unmapped = node.get("unmapped", "error")
        if unmapped not in UNMAPPED:
            raise self.fail(f"{key}.unmapped", f"must be one of: {', '.join(UNMAPPED)}")
        return FieldRule(
            path,
            steps,
            key,
            column=self.text(node["column"], f"{key}.column") if "column" in node else None,
            template=self.template(node["template"], f"{key}.template") if "template" in node else None,
            value=node.get("value", NOT_SET),
            type=type_,
            format=fmt,
            format_text=fmt_text,
            map=value_map,
            map_name=map_name,
            unmapped=unmapped,
            required=required,
            default=node.get("default", NOT_SET),
            replace=self.replacements(f"{key}.replace", node.get("replace")),
        )

    def quantity(self, key: str, node: Any, tables: dict[str, Table]) -> QuantityRule:
        node = self.keys(node, key, ("value", "unit", "units", "to", "molar_mass", "digits"), ("value", "unit"))
        units, units_name = (None, "")
        if "units" in node:
            units, units_name = self.value_map(f"{key}.units", node["units"], tables)
        molar: Template | float | None = None
        if "molar_mass" in node:
            raw = node["molar_mass"]
            molar = (
                float(raw)
                if isinstance(raw, int | float) and not isinstance(raw, bool)
                else self.template(raw, f"{key}.molar_mass")
            )
        digits = node.get("digits")
        if digits is not None and (not isinstance(digits, int) or isinstance(digits, bool) or digits < 0):
            raise self.fail(f"{key}.digits", "must be a whole number of decimals")
        return QuantityRule(
            value=self.text(node["value"], f"{key}.value"),
            unit=self.template(node["unit"], f"{key}.unit"),
            units=units,
            units_name=units_name,
            to=self.template(node["to"], f"{key}.to") if "to" in node else None,
            molar_mass=molar,
            digits=digits,
        )

    def value_map(self, key: str, node: Any, tables: dict[str, Table]) -> tuple[dict[str, Any], str]:
        if isinstance(node, str):
            table = tables.get(node)
            if table is None:
                raise self.fail(key, f"no table {node!r} under tables: (known: {', '.join(tables) or 'none'})")
            if table.values is None:
                raise self.fail(key, f"table {node!r} is read from a file: use it through join:")
            return table.values, node
        if isinstance(node, dict) and node:
            if any(isinstance(k, bool) or isinstance(v, bool) for k, v in node.items()):
                raise self.fail(key, "a boolean here is almost always YAML reading NO, yes, on or off: quote it")
            return {str(k): v for k, v in node.items()}, key
        raise self.fail(key, "must name a table or be an inline mapping of local value → standard value")

    def replacements(self, key: str, node: Any) -> tuple[tuple[re.Pattern[str], str], ...]:
        if node is None:
            return ()
        items = node if isinstance(node, list) else [node]
        out = []
        for index, item in enumerate(items):
            item_key = f"{key}[{index}]" if isinstance(node, list) else key
            item = self.keys(item, item_key, ("pattern", "with"), ("pattern", "with"))
            try:
                pattern = re.compile(self.text(item["pattern"], f"{item_key}.pattern"))
            except re.error as error:
                raise self.fail(f"{item_key}.pattern", f"not a regular expression: {error}") from None
            out.append((pattern, self.text(item["with"], f"{item_key}.with")))
        return tuple(out)

    def template(self, node: Any, key: str) -> Template:
        text = self.text(node, key)
        parts: list[tuple[str, str | None]] = []
        try:
            for literal, name, spec, conversion in string.Formatter().parse(text):
                if name is not None and (spec or conversion or not name):
                    raise self.fail(key, f"placeholder {{{name}}} must be a plain column name, like {{lopenr}}")
                parts.append((literal, name))
        except ValueError as error:
            raise self.fail(key, f"unbalanced braces in {text!r} ({error}); write {{{{ for a literal brace") from None
        return Template(text, tuple(parts))

    def check_join_references(self, rule: FileRule, tables: dict[str, Table]) -> None:
        aliases = {join.alias: join for join in rule.joins}
        for name, label in _placeholders(rule):
            alias, _, attribute = name.partition(".")
            join = aliases.get(alias)
            if join is None or not attribute:
                continue
            known = tables[join.table].attributes
            if known is None:
                raise self.fail(label, f"{{{name}}}: table {join.table!r} holds single values: write {{{alias}}}")
            if attribute not in known:
                raise self.fail(
                    label, f"{{{name}}}: table {join.table!r} has no {attribute!r} (it has: {', '.join(sorted(known))})"
                )


def _placeholders(rule: FileRule) -> list[tuple[str, str]]:
    found = [(name, f"files[{rule.index}].id") for name in rule.id.fields]
    for field_rule in rule.fields:
        templates: list[Any] = [field_rule.template]
        if field_rule.column:
            found.append((field_rule.column, field_rule.label))
        if field_rule.quantity:
            found.append((field_rule.quantity.value, field_rule.label))
            templates += [field_rule.quantity.unit, field_rule.quantity.to, field_rule.quantity.molar_mass]
        for template in templates:
            if isinstance(template, Template):
                found += [(name, field_rule.label) for name in template.fields]
    return found


def _is_resource_type(name: str) -> bool:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        model = get_fhir_model_class(name)
    except (KeyError, ValueError):
        return False
    return isinstance(model, type) and issubclass(model, Resource)
