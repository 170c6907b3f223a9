"""The compiled form of a mapping: options, templates, paths and rules (built by `spec.load_mapping`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fhirmony.sources.mapping.units import Conversion

LANGUAGE_VERSION = 1
TYPES = ("string", "code", "integer", "decimal", "boolean", "date", "dateTime")
UNMAPPED = ("error", "keep", "omit")
CSV_KEYS = (
    "delimiter",
    "encoding",
    "header",
    "columns",
    "quotechar",
    "date_format",
    "datetime_format",
    "timezone",
    "decimal_separator",
    "null_values",
)
PATH_PATTERN = re.compile(r"^[A-Za-z_]\w*(\[\d+\])?(\.[A-Za-z_]\w*(\[\d+\])?)*$")
STEP_PATTERN = re.compile(r"^([A-Za-z_]\w*)(?:\[(\d+)\])?$")
_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
NOT_SET: Any = object()  # "no constant" and "no default", distinct from a YAML null


class MappingError(ValueError):
    """A mapping that cannot be used, or a source file it cannot read; the message names file, line, key."""


@dataclass(frozen=True, slots=True)
class CsvOptions:
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    columns: tuple[str, ...] | None = None  # names of the columns when the file has no header
    quotechar: str = '"'
    date_format: str = "%Y-%m-%d"
    datetime_format: str = "%Y-%m-%dT%H:%M:%S"
    timezone: ZoneInfo | None = None
    decimal_separator: str = "."
    null_values: frozenset[str] = frozenset({""})
    date_format_text: str = "YYYY-MM-DD"
    datetime_format_text: str = "YYYY-MM-DDTHH:mm:ss"


@dataclass(frozen=True, slots=True)
class Template:
    """`Patient/no-{lopenr}`: literal text with `{column}` placeholders (`{{` is a literal brace)."""

    text: str
    parts: tuple[tuple[str, str | None], ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.parts if name is not None)

    def render(self, row: dict[str, str]) -> str | None:
        """The text, or None when a placeholder's column is empty."""
        out = []
        for literal, name in self.parts:
            out.append(literal)
            if name is not None:
                value = row.get(name)
                if not value:
                    return None
                out.append(value)
        return "".join(out)

    def empty_fields(self, row: dict[str, str]) -> list[str]:
        return [name for name in self.fields if not row.get(name)]


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    index: int | None


@dataclass(frozen=True, slots=True)
class QuantityRule:
    value: str  # column holding the number
    unit: Template | None  # the local unit (a column `{enhet}` or a literal `mmol/L`)
    units: dict[str, Any] | None  # local unit → UCUM code
    units_name: str
    to: Template | None  # target UCUM unit
    molar_mass: Template | float | None
    digits: int | None


@dataclass(frozen=True, slots=True)
class FieldRule:
    path: str
    steps: tuple[Step, ...]
    label: str  # `files[3].fields.effectiveDateTime`, named in every error
    column: str | None = None
    template: Template | None = None
    value: Any = NOT_SET
    type: str = "string"
    format: str | None = None
    format_text: str | None = None
    map: dict[str, Any] | None = None
    map_name: str = ""
    unmapped: str = "error"
    required: bool = False
    default: Any = NOT_SET
    replace: tuple[tuple[re.Pattern[str], str], ...] = ()
    quantity: QuantityRule | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not NOT_SET

    @property
    def is_constant(self) -> bool:
        return self.value is not NOT_SET


@dataclass(frozen=True, slots=True)
class Join:
    table: str
    key: Template  # `{analysekode}`, or a composite `{icd_version}|{icd_code}`, looked up in the table
    alias: str
    required: bool
    label: str


@dataclass(slots=True)
class Table:
    name: str
    label: str
    values: dict[str, Any] | None = None  # inline
    file: str | None = None  # or read from a file of the extract
    key: Template | None = None  # of a file table: its key column, or a composite like `{a}|{b}`
    columns: tuple[str, ...] = ()
    options: CsvOptions = field(default_factory=CsvOptions)

    @property
    def attributes(self) -> set[str] | None:
        """Names a join exposes as `{alias.name}`; None when entries are scalars (`{alias}`)."""
        if self.file is not None:
            return set(self.columns)
        entries = list((self.values or {}).values())
        if entries and all(isinstance(entry, dict) for entry in entries):
            return {key for entry in entries for key in entry}
        return None


@dataclass(frozen=True, slots=True)
class FileRule:
    index: int
    file: str  # a name or glob, relative to the source path
    resource: str
    id: Template
    joins: tuple[Join, ...]
    fields: tuple[FieldRule, ...]
    options: CsvOptions

    @property
    def label(self) -> str:
        return f"files[{self.index}] ({self.file})"

    def columns_used(self, tables: dict[str, Table]) -> dict[str, str]:
        """Every source column the rules read, with the first rule that reads it."""
        provided = {join.alias for join in self.joins}
        used: dict[str, str] = {}

        def need(name: str, label: str) -> None:
            if name.split(".", 1)[0] in provided and ("." in name or tables[self._join(name).table].attributes is None):
                return
            used.setdefault(name, label)

        for name in self.id.fields:
            need(name, f"files[{self.index}].id")
        for join in self.joins:
            for name in join.key.fields:
                need(name, join.label)
        for rule in self.fields:
            if rule.column:
                need(rule.column, rule.label)
            if rule.template:
                for name in rule.template.fields:
                    need(name, rule.label)
            if rule.quantity:
                need(rule.quantity.value, rule.label)
                for template in (rule.quantity.unit, rule.quantity.to, rule.quantity.molar_mass):
                    if isinstance(template, Template):
                        for name in template.fields:
                            need(name, rule.label)
        return used

    def _join(self, name: str) -> Join:
        alias = name.split(".", 1)[0]
        return next(join for join in self.joins if join.alias == alias)


@dataclass(frozen=True, slots=True)
class Mapping:
    path: Path
    name: str
    description: str
    tables: dict[str, Table]
    files: tuple[FileRule, ...]
    conversions: dict[tuple[str, str], Conversion]

    @property
    def label(self) -> str:
        return self.path.name


def parse_path(path: str) -> tuple[Step, ...] | None:
    """`code.coding[0].code` → steps; None when it is not a path."""
    if not PATH_PATTERN.match(path):
        return None
    steps = []
    for part in path.split("."):
        match = STEP_PATTERN.match(part)
        assert match is not None
        steps.append(Step(match.group(1), int(match.group(2)) if match.group(2) is not None else None))
    return tuple(steps)


def strptime_format(text: str) -> str:
    """`DD.MM.YYYY HH:mm` → `%d.%m.%Y %H:%M`; a format with `%` is taken as strptime already."""
    if "%" in text:
        return text
    out = text
    for token, directive in _TOKENS:
        out = out.replace(token, directive)
    return out
