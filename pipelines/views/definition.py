"""Validate a ViewDefinition (JSON) and compile its FHIRPath once into a tree of select specs.

Every problem raises ViewDefinitionError whose message starts with the offending element, e.g.
`select[0].unionAll[1]: columns (id, b) differ from unionAll[0] (id, a)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fhirmony.views.errors import FhirPathSyntaxError, ViewDefinitionError
from fhirmony.views.fhirpath.compiler import Compiled, Compiler
from fhirmony.views.fhirpath.parser import Call, Identifier, Index, Member, parse
from fhirmony.views.types import fhir_type_name

SQL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESOURCE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SELECT_KEYS = {"column", "select", "forEach", "forEachOrNull", "repeat", "unionAll", "id", "extension",
               "modifierExtension", "description"}  # fmt: skip
COLUMN_KEYS = {"name", "path", "description", "collection", "type", "tag", "tags", "id", "extension",
               "modifierExtension"}  # fmt: skip
CONSTANT_TYPES = {
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id", "instant",
    "integer", "integer64", "oid", "string", "positiveInt", "time", "unsignedInt", "uri", "url", "uuid",
}  # fmt: skip


@dataclass(frozen=True)
class ColumnSpec:
    """One output column: its name, FHIRPath, declared or inferred FHIR type and tags."""

    name: str
    path: str
    compiled: Compiled
    fhir_type: str | None
    collection: bool
    description: str
    tags: dict[str, str]
    element: str

    @property
    def is_row_index(self) -> bool:
        return self.compiled.is_row_index


@dataclass(frozen=True)
class SelectSpec:
    """One selection structure: its columns, nested selects, union branches and iteration."""

    element: str
    columns: list[ColumnSpec] = field(default_factory=list)
    selects: list[SelectSpec] = field(default_factory=list)
    union_all: list[SelectSpec] = field(default_factory=list)
    iterate: Compiled | None = None
    or_null: bool = False
    repeat: list[Compiled] = field(default_factory=list)
    iterate_path: str = ""

    def all_columns(self) -> list[ColumnSpec]:
        """Columns in output order: own, then nested selects, then the (first) union branch."""
        out = list(self.columns)
        for sub in self.selects:
            out.extend(sub.all_columns())
        if self.union_all:
            out.extend(self.union_all[0].all_columns())
        return out

    @property
    def is_flat(self) -> bool:
        """True when the structure yields exactly one row per input node."""
        return self.iterate is None and not self.repeat and not self.union_all and all(s.is_flat for s in self.selects)


@dataclass(frozen=True)
class ViewSpec:
    """A validated, compiled ViewDefinition."""

    name: str
    resource: str
    root: SelectSpec
    where: list[Compiled]
    columns: list[ColumnSpec]
    where_paths: list[str] = field(default_factory=list)
    constants: dict[str, object] = field(default_factory=dict)


def required_element(view: ViewSpec) -> str | None:
    """A top-level element without which a resource yields no rows (a top-level `forEach` over it).

    Sibling selects are cross-joined, so one empty `forEach` empties the whole row set; lines that
    do not even mention the element need not be parsed.
    """
    for select in view.root.selects:
        if select.iterate is None or select.or_null:
            continue
        node = parse(select.iterate_path)
        while isinstance(node, Member | Call | Index) and getattr(node, "target", None) is not None:
            node = node.target  # type: ignore[assignment]
        if isinstance(node, Identifier) and not node.name[0].isupper():
            return node.name
    return None


def _fail(element: str, message: str) -> ViewDefinitionError:
    return ViewDefinitionError(f"{element}: {message}" if element else message)


def _compile(compiler: Compiler, text: object, element: str, focus_type: str | None = None) -> Compiled:
    if not isinstance(text, str) or not text.strip():
        raise _fail(element, "a FHIRPath expression (non-empty string) is required")
    try:
        return compiler.compile_text(text, focus_type)
    except FhirPathSyntaxError as exc:
        raise _fail(element, f"invalid FHIRPath: {exc}") from exc
    except RecursionError as exc:
        raise _fail(element, "FHIRPath expression nests too deeply") from exc


def _constants(view: Mapping[str, object]) -> dict[str, object]:
    raw = view.get("constant", [])
    if not isinstance(raw, list):
        raise _fail("constant", "must be an array")
    constants: dict[str, object] = {}
    for i, item in enumerate(raw):
        element = f"constant[{i}]"
        if not isinstance(item, dict):
            raise _fail(element, "must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not SQL_NAME.match(name):
            raise _fail(f"{element}.name", f"{name!r} is not a valid constant name")
        values = [k for k in item if k.startswith("value")]
        if len(values) != 1:
            raise _fail(element, f"constant {name!r} needs exactly one value[x], found {len(values)}")
        kind = values[0][5:6].lower() + values[0][6:]
        if kind not in CONSTANT_TYPES:
            raise _fail(f"{element}.{values[0]}", f"unsupported constant type {kind!r}")
        if name in constants:
            raise _fail(element, f"constant {name!r} is defined twice")
        constants[name] = item[values[0]]
    return constants


class _Builder:
    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler

    def select(self, raw: object, element: str, context: str | None) -> SelectSpec:
        """One selection structure; `context` is the static FHIR type of the node it runs on."""
        if not isinstance(raw, dict):
            raise _fail(element, "a select must be an object")
        unknown = set(raw) - SELECT_KEYS
        if unknown:
            raise _fail(element, f"unknown element(s) {', '.join(sorted(unknown))}")
        directives = [k for k in ("forEach", "forEachOrNull", "repeat") if k in raw]
        if len(directives) > 1:
            raise _fail(element, f"at most one of forEach, forEachOrNull, repeat; found {', '.join(directives)}")
        iterate = None
        if "forEach" in raw or "forEachOrNull" in raw:
            key = directives[0]
            iterate = _compile(self.compiler, raw[key], f"{element}.{key}", context)
            context = iterate.type
        repeat: list[Compiled] = []
        if "repeat" in raw:
            paths = raw["repeat"]
            if not isinstance(paths, list) or not paths:
                raise _fail(f"{element}.repeat", "must be a non-empty array of FHIRPath expressions")
            repeat = [_compile(self.compiler, p, f"{element}.repeat[{i}]", context) for i, p in enumerate(paths)]
            kinds = {r.type for r in repeat}
            context = kinds.pop() if len(kinds) == 1 else None
        columns = [
            self.column(c, f"{element}.column[{i}]", context) for i, c in enumerate(self._array(raw, "column", element))
        ]
        selects = [
            self.select(s, f"{element}.select[{i}]", context) for i, s in enumerate(self._array(raw, "select", element))
        ]
        branches = [
            self.select(s, f"{element}.unionAll[{i}]", context)
            for i, s in enumerate(self._array(raw, "unionAll", element))
        ]
        self._check_union(branches, element)
        iterate_path = str(raw.get("forEach") or raw.get("forEachOrNull") or "")
        spec = SelectSpec(element, columns, selects, branches, iterate, "forEachOrNull" in raw, repeat, iterate_path)
        if not spec.all_columns() and not selects and not branches:
            raise _fail(element, "a select needs at least one column, select or unionAll")
        return spec

    @staticmethod
    def _array(raw: dict, key: str, element: str) -> list:
        value = raw.get(key, [])
        if isinstance(value, dict):  # tolerate a single object where an array is expected
            return [value]
        if not isinstance(value, list):
            raise _fail(f"{element}.{key}", "must be an array")
        return value

    @staticmethod
    def _check_union(branches: list[SelectSpec], element: str) -> None:
        if not branches:
            return
        first = [c.name for c in branches[0].all_columns()]
        for i, branch in enumerate(branches[1:], start=1):
            names = [c.name for c in branch.all_columns()]
            if names != first:
                raise _fail(
                    f"{element}.unionAll[{i}]",
                    f"columns ({', '.join(names)}) differ from unionAll[0] ({', '.join(first)})",
                )
            for a, b in zip(branches[0].all_columns(), branch.all_columns(), strict=True):
                if a.fhir_type and b.fhir_type and a.fhir_type != b.fhir_type:
                    raise _fail(
                        f"{element}.unionAll[{i}]",
                        f"column {b.name!r} has type {b.fhir_type}, unionAll[0] has {a.fhir_type}",
                    )

    def column(self, raw: object, element: str, context: str | None) -> ColumnSpec:
        if not isinstance(raw, dict):
            raise _fail(element, "a column must be an object")
        unknown = set(raw) - COLUMN_KEYS
        if unknown:
            raise _fail(element, f"unknown element(s) {', '.join(sorted(unknown))}")
        path = raw.get("path")
        compiled = _compile(self.compiler, path, f"{element}.path", context)
        name = raw.get("name")
        if name is None and isinstance(path, str) and SQL_NAME.match(path):
            name = path
        if not isinstance(name, str) or not SQL_NAME.match(name):
            raise _fail(f"{element}.name", f"{name!r} is not a valid column name ([A-Za-z][A-Za-z0-9_]*)")
        collection = raw.get("collection", False)
        if not isinstance(collection, bool):
            raise _fail(f"{element}.collection", "must be true or false")
        declared = raw.get("type")
        if declared is not None and (not isinstance(declared, str) or not declared):
            raise _fail(f"{element}.type", "must be a FHIR type name or URI")
        tags: dict[str, str] = {}
        for j, tag in enumerate(raw.get("tag", raw.get("tags", [])) or []):
            if not isinstance(tag, dict) or not isinstance(tag.get("name"), str) or "value" not in tag:
                raise _fail(f"{element}.tag[{j}]", "a tag needs a name and a value")
            tags[tag["name"]] = str(tag["value"])
        fhir_type = fhir_type_name(declared) if declared else compiled.type
        description = raw.get("description", "")
        return ColumnSpec(name, path, compiled, fhir_type, collection, str(description), tags, element)  # type: ignore[arg-type]


def build_view(view: object) -> ViewSpec:
    """Validate and compile a ViewDefinition; raises ViewDefinitionError naming the element at fault."""
    if not isinstance(view, dict):
        raise _fail("", "a ViewDefinition must be a JSON object")
    kind = view.get("resourceType")
    if kind is not None and (not isinstance(kind, str) or not kind.endswith("ViewDefinition")):
        raise _fail("resourceType", f"expected ViewDefinition, got {kind!r}")
    resource = view.get("resource")
    if not isinstance(resource, str) or not RESOURCE_NAME.match(resource):
        raise _fail("resource", "a FHIR resource type (e.g. Patient) is required")
    name = view.get("name")
    if name is not None and (not isinstance(name, str) or not SQL_NAME.match(name)):
        raise _fail("name", f"{name!r} is not a valid view name ([A-Za-z][A-Za-z0-9_]*)")
    status = view.get("status")
    if status is not None and status not in {"draft", "active", "retired", "unknown"}:
        raise _fail("status", f"{status!r} is not one of draft, active, retired, unknown")
    constants = _constants(view)
    compiler = Compiler(constants, resource)
    selects = view.get("select")
    if isinstance(selects, dict):
        selects = [selects]
    if not isinstance(selects, list) or not selects:
        raise _fail("select", "at least one select is required")
    builder = _Builder(compiler)
    root = SelectSpec("", selects=[builder.select(s, f"select[{i}]", resource) for i, s in enumerate(selects)])
    columns = root.all_columns()
    seen: dict[str, str] = {}
    for column in columns:
        if column.name in seen:
            raise _fail(column.element, f"column name {column.name!r} is already defined at {seen[column.name]}")
        seen[column.name] = column.element
    where_raw = view.get("where", [])
    if not isinstance(where_raw, list):
        raise _fail("where", "must be an array")
    where = []
    for i, clause in enumerate(where_raw):
        if not isinstance(clause, dict):
            raise _fail(f"where[{i}]", "must be an object with a path")
        where.append(_compile(compiler, clause.get("path"), f"where[{i}].path"))
    where_paths = [str(clause.get("path")) for clause in where_raw]
    return ViewSpec(name or resource.lower(), resource, root, where, columns, where_paths, constants)
