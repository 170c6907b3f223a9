"""Translate a flat ViewDefinition into one DuckDB query over NDJSON (the fast path for flat views).

Only a subset translates: member paths (with cardinality and choice types from the FHIR R4 model),
first() and [n], ofType() on choice elements, where() on repeating elements, exists()/empty()/not(),
= and != against literals, and/or, iif(), getResourceKey() and getReferenceKey([type]). Anything
else raises NotTranslatable and the view runs on the Python closures instead. Values that break the
column contract (several values in a non-collection column, wrong JSON type, bad dates) are flagged
per row and re-evaluated by the Python engine, so both paths give the same rows and quarantine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from fhirmony.views.definition import SelectSpec, ViewSpec
from fhirmony.views.fhirpath.parser import (
    Binary,
    Call,
    Identifier,
    Index,
    Literal,
    Member,
    Node,
    Unary,
    Variable,
    parse,
)
from fhirmony.views.fhirpath.values import normalize_type_name
from fhirmony.views.model import choice_types, element

STRING_TYPES = {"string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "time"}

MACROS = [
    """CREATE OR REPLACE MACRO fhir_ts(s) AS TRY_CAST(
         CASE length(s) WHEN 4 THEN s || '-01-01' WHEN 7 THEN s || '-01' ELSE s END AS TIMESTAMPTZ)""",
    """CREATE OR REPLACE MACRO fhir_date(s) AS TRY_CAST(
         CASE length(s) WHEN 4 THEN s || '-01-01' WHEN 7 THEN s || '-01' ELSE left(s, 10) END AS DATE)""",
]


class NotTranslatable(Exception):
    """The expression is outside the SQL subset; the view runs on the Python engine."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key(name: str) -> str:
    return '."' + name.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Path:
    """A JSON path into one JSON-typed SQL expression; `multi` when it can yield several items."""

    base: str  # SQL expression of JSON type (a column or a lambda variable)
    path: str  # JSON path starting with $
    type: str | None  # FHIR type of the addressed items
    array_tail: bool = False  # the last step is a repeating element not yet expanded
    multi: bool = False  # a wildcard was used earlier

    def expanded(self) -> Path:
        return replace(self, path=self.path + "[*]", array_tail=False, multi=True) if self.array_tail else self

    def json_list(self) -> str:
        return f"json_extract({self.base}, {_quote(self.expanded().path)})"


@dataclass(frozen=True)
class ListOf:
    """A SQL list of JSON values (`single`: at most one, e.g. after first())."""

    sql: str
    type: str | None
    single: bool = False


@dataclass(frozen=True)
class Value:
    """A typed SQL scalar (BOOLEAN, VARCHAR, BIGINT, DOUBLE); NULL is the empty collection."""

    sql: str
    type: str


@dataclass(frozen=True)
class Ref:
    """getReferenceKey([type]) on a single Reference; only valid as a column value."""

    base: str
    path: str
    expected: str | None


Expr = Path | ListOf | Value | Ref


class _Translator:
    def __init__(self, resource: str, constants: dict[str, object]) -> None:
        self.resource = resource
        self.constants = constants
        self.top_level: set[str] = set()
        self.lambda_depth = 0
        self.row_index_sql = "0"  # %rowIndex: 0 at the top level, the lambda index inside a forEach

    # ---------------------------------------------------------- entry points
    def expr(self, node: Node, focus: Path | None) -> Expr | None:
        """The SQL of an expression evaluated on `focus` (None: the resource, which is also what
        `%resource` gives)."""
        if isinstance(node, Literal):
            return self.literal(node.value, node.kind)
        if isinstance(node, Identifier):
            return self.member(focus, node.name)
        if isinstance(node, Member):
            return self.member(self.expr(node.target, focus), node.name)
        if isinstance(node, Index):
            return self.index(node, focus)
        if isinstance(node, Call):
            return self.call(node, focus)
        if isinstance(node, Binary):
            return self.binary(node, focus)
        if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal):
            return self.literal(-node.operand.value, node.operand.kind)  # type: ignore[operator]
        if isinstance(node, Variable) and node.name in self.constants:
            value = self.constants[node.name]
            return self.literal(value, "string" if isinstance(value, str) else "")
        if isinstance(node, Variable) and node.name == "rowIndex":
            return Value(self.row_index_sql, "integer")
        if isinstance(node, Variable) and node.name in {"resource", "rootResource"}:
            return None
        raise NotTranslatable(type(node).__name__)

    def literal(self, value: object, kind: str) -> Value:
        if isinstance(value, bool):
            return Value("true" if value else "false", "boolean")
        if isinstance(value, int):
            return Value(str(value), "integer")
        if isinstance(value, float | Decimal):
            return Value(f"CAST({value} AS DOUBLE)", "decimal")
        if isinstance(value, str) and kind in {"string", ""}:
            return Value(_quote(value), "string")
        raise NotTranslatable(f"literal {kind}")

    # ---------------------------------------------------------- navigation
    def member(self, target: Expr | None, name: str) -> Expr:
        if target is None:  # the resource root: a top-level element is its own JSON column
            found = element(self.resource, name)
            if found is None or found[0] == "[x]" or name in {"resourceType"}:
                raise NotTranslatable(f"{self.resource}.{name}")
            self.top_level.add(name)
            return Path(f'"{name}"', "$", found[0], array_tail=found[1])
        if isinstance(target, Path):
            base = target.expanded()
            found = element(base.type, name)
            if found is None or found[0] == "[x]":
                raise NotTranslatable(f"{base.type}.{name}")
            return Path(base.base, base.path + _key(name), found[0], array_tail=found[1], multi=base.multi)
        if isinstance(target, ListOf):
            found = element(target.type, name)
            if found is None or found[0] == "[x]":
                raise NotTranslatable(f"{target.type}.{name}")
            step = _quote("$" + _key(name) + ("[*]" if found[1] else ""))
            inner = f"json_extract(x, {step})"
            mapped = (
                f"flatten(list_transform({target.sql}, lambda x: {inner}))"
                if found[1]
                else (f"list_transform({target.sql}, lambda x: {inner})")
            )
            return ListOf(f"list_filter({mapped}, lambda x: x IS NOT NULL)", found[0])
        raise NotTranslatable("member of a value")

    def typed_member(self, target: Node | None, name: str, type_name: str, focus: Path | None) -> Expr:
        bare = normalize_type_name(type_name)
        parent = focus if target is None else self.expr(target, focus)
        parent_type = self.resource if parent is None else parent.type  # type: ignore[union-attr]
        choices = choice_types(parent_type, name)
        key = choices.get(bare[0].upper() + bare[1:])
        if key is None:
            found = element(parent_type, name)
            if found is None or found[0] != bare:
                raise NotTranslatable(f"ofType({bare})")
            key = name
        return self.member(parent, key)

    def index(self, node: Index, focus: Path | None) -> Expr:
        if not (isinstance(node.index, Literal) and node.index.kind == "integer"):
            raise NotTranslatable("computed index")
        return self.nth(self.expr(node.target, focus), int(node.index.value))  # type: ignore[arg-type]

    def nth(self, target: Expr, n: int) -> Expr:
        if isinstance(target, Path):
            if target.array_tail and not target.multi:
                return replace(target, path=f"{target.path}[{n}]", array_tail=False)
            if not target.array_tail and not target.multi:
                return target if n == 0 else Value("NULL", target.type or "string")
            return ListOf(f"({target.json_list()})[{n + 1}:{n + 1}]", target.type, single=True)
        if isinstance(target, ListOf):
            return ListOf(f"({target.sql})[{n + 1}:{n + 1}]", target.type, single=True)
        raise NotTranslatable("index of a value")

    # ---------------------------------------------------------- functions
    def call(self, node: Call, focus: Path | None) -> Expr:
        name, args = node.name, node.args
        if name == "ofType" and len(args) == 1 and isinstance(args[0], Identifier):
            if isinstance(node.target, Member):
                return self.typed_member(node.target.target, node.target.name, args[0].name, focus)
            if isinstance(node.target, Identifier):
                return self.typed_member(None, node.target.name, args[0].name, focus)
            raise NotTranslatable("ofType")
        source = self.expr(node.target, focus) if node.target is not None else focus
        if name == "getResourceKey" and not args and source is None:
            self.top_level.add("id")
            return Value("json_extract_string(\"id\", '$')", "string")
        if source is None:
            raise NotTranslatable(f"{name}() on the resource")
        if name == "first" and not args:
            return self.nth(source, 0)
        if name in {"exists", "empty"} and not args:
            test = self.exists(source)
            return Value(test if name == "exists" else f"(NOT {test})", "boolean")
        if name == "not" and not args and isinstance(source, Value) and source.type == "boolean":
            return Value(f"(NOT {source.sql})", "boolean")
        if name == "join" and len(args) <= 1 and isinstance(source, Path | ListOf):
            separator = self.expr(args[0], focus) if args else Value("''", "string")
            if not isinstance(separator, Value) or separator.type != "string":
                raise NotTranslatable("join() separator")
            return Value(f"coalesce(array_to_string({self.texts(source)}, {separator.sql}), '')", "string")
        if name == "count" and not args and isinstance(source, Path | ListOf):
            if isinstance(source, Path) and not source.array_tail and not source.multi:
                return Value(f"(json_extract({source.base}, {_quote(source.path)}) IS NOT NULL)::BIGINT", "integer")
            items = source.json_list() if isinstance(source, Path) else source.sql
            return Value(f"coalesce(len({items}), 0)", "integer")
        if name == "toString" and not args and isinstance(source, Value) and source.type in {"integer", "string"}:
            return Value(f"CAST({source.sql} AS VARCHAR)", "string")
        if name == "getReferenceKey" and len(args) <= 1:
            return self.reference_key(source, args)
        if name == "where" and len(args) == 1 and isinstance(source, Path | ListOf):
            return self.where(source, args[0])
        raise NotTranslatable(f"{name}()")

    def texts(self, source: Path | ListOf) -> str:
        """A SQL list of the string values of a collection."""
        if isinstance(source, Path):
            path = source.expanded().path if source.array_tail else source.path
            if not source.array_tail and not source.multi:
                return f"[json_extract_string({source.base}, {_quote(path)})]"
            return f"json_extract_string({source.base}, {_quote(path)})"
        return f"list_transform({source.sql}, lambda t: json_extract_string(t, '$'))"

    def exists(self, source: Expr | None) -> str:
        if source is None:
            raise NotTranslatable("exists() on the resource")
        if isinstance(source, Path):
            if not source.array_tail and not source.multi:
                return f"(json_extract({source.base}, {_quote(source.path)}) IS NOT NULL)"
            return f"(coalesce(len({source.json_list()}), 0) > 0)"
        if isinstance(source, ListOf):
            return f"(coalesce(len({source.sql}), 0) > 0)"
        return f"({source.sql} IS NOT NULL)"

    def reference_key(self, source: Expr, args: tuple[Node, ...]) -> Ref:
        expected = None
        if args:
            if not isinstance(args[0], Identifier):
                raise NotTranslatable("getReferenceKey argument")
            expected = normalize_type_name(args[0].name)
        if not isinstance(source, Path) or source.array_tail or source.multi or source.type != "Reference":
            raise NotTranslatable("getReferenceKey on a collection")
        return Ref(source.base, source.path, expected)

    def where(self, source: Path | ListOf, criterion: Node) -> ListOf:
        items = source.json_list() if isinstance(source, Path) else source.sql
        variable = f"w{self.lambda_depth}"
        self.lambda_depth += 1
        test = self.boolean(self.expr(criterion, Path(variable, "$", source.type)))
        self.lambda_depth -= 1
        return ListOf(f"list_filter({items}, lambda {variable}: coalesce({test}, false))", source.type)

    # ---------------------------------------------------------- operators
    def binary(self, node: Binary, focus: Path | None) -> Value:
        op = node.op
        if op in {"and", "or"}:
            left = self.boolean(self.expr(node.left, focus))
            right = self.boolean(self.expr(node.right, focus))
            return Value(f"({left} {op.upper()} {right})", "boolean")
        if op in {"=", "!="}:
            left, right = self.expr(node.left, focus), self.expr(node.right, focus)
            if isinstance(right, Path) and isinstance(left, Value):
                left, right = right, left
            if not isinstance(right, Value):
                raise NotTranslatable("comparison of two paths")
            scalar = self.scalar(left, right.type)
            return Value(f"({scalar} {'=' if op == '=' else '<>'} {right.sql})", "boolean")
        if op == "&":
            left, right = self.expr(node.left, focus), self.expr(node.right, focus)
            parts = [self.scalar(side, "string") for side in (left, right)]
            if any(isinstance(side, Value) and side.type != "string" for side in (left, right)):
                raise NotTranslatable("& of a non-string value")
            return Value(f"(coalesce({parts[0]}, '') || coalesce({parts[1]}, ''))", "string")
        raise NotTranslatable(f"operator {op}")

    def boolean(self, expr: Expr) -> str:
        if isinstance(expr, Value) and expr.type == "boolean":
            return expr.sql
        if isinstance(expr, Path) and expr.type == "boolean" and not expr.array_tail and not expr.multi:
            j = f"json_extract({expr.base}, {_quote(expr.path)})"
            return f"(CASE WHEN json_type({j}) = 'BOOLEAN' THEN {j}::BOOLEAN END)"
        raise NotTranslatable("non-boolean condition")

    def scalar(self, expr: Expr | None, kind: str) -> str:
        """A single-valued path as a typed SQL scalar for comparison."""
        if isinstance(expr, Value):
            return expr.sql
        if isinstance(expr, Path) and not expr.array_tail and not expr.multi:
            if kind == "string":
                return f"json_extract_string({expr.base}, {_quote(expr.path)})"
            j = f"json_extract({expr.base}, {_quote(expr.path)})"
            if kind == "boolean":
                return f"(CASE WHEN json_type({j}) = 'BOOLEAN' THEN {j}::BOOLEAN END)"
        raise NotTranslatable("comparison operand")


def _json_string_text(json_value: str) -> str:
    """The text of a JSON string without a second parse (NULL for numbers, objects, ...). Escapes stay
    escaped, which no valid date has: such a value fails the cast and goes to the closures."""
    text = f"CAST({json_value} AS VARCHAR)"
    return f"(CASE WHEN starts_with({text}, '\"') THEN substr({text}, 2, length({text}) - 2) END)"


@dataclass(frozen=True)
class SqlColumn:
    """One output column in three steps: extractions from the JSON columns (computed once each),
    the typed value over those extractions, and an optional contract-violation flag over both
    (`{value}` in `error` stands for the value's alias)."""

    extracts: list[tuple[str, str]]
    value: str
    error: str | None = None


class _Column:
    """Builds the SQL of column number `index`, naming its extractions c<index>_<n>.

    With `focus` (inside a forEach lambda) extractions stay inline: they depend on the element.
    """

    def __init__(self, translator: _Translator, index: int, arrow_kind: str, focus: Path | None = None) -> None:
        self.t = translator
        self.prefix = f"c{index}_"
        self.kind = arrow_kind
        self.focus = focus
        self.extracts: list[tuple[str, str]] = []

    def extract(self, sql: str) -> str:
        if self.focus is not None:
            return f"({sql})"
        alias = f"{self.prefix}{len(self.extracts)}"
        self.extracts.append((alias, sql))
        return alias

    def build(self, node: Node) -> SqlColumn:
        value, error = self.node(node)
        return SqlColumn(self.extracts, value, error)

    def node(self, node: Node) -> tuple[str, str | None]:
        """(value SQL, error SQL or None); a top-level iif(c, a, b) becomes CASE over both branches."""
        if isinstance(node, Call) and node.name == "iif" and node.target is None and len(node.args) == 3:
            condition = self.extract(f"coalesce({self.t.boolean(self.t.expr(node.args[0], self.focus))}, false)")
            then_value, then_error = self.node(node.args[1])
            else_value, else_error = self.node(node.args[2])
            value = f"(CASE WHEN {condition} THEN {then_value} ELSE {else_value} END)"
            if then_error is None and else_error is None:
                return value, None
            return value, (f"(CASE WHEN {condition} THEN {then_error or 'false'} ELSE {else_error or 'false'} END)")
        return self.expr(self.t.expr(node, self.focus))

    def expr(self, expr: Expr | None) -> tuple[str, str | None]:
        if expr is None:
            raise NotTranslatable("a whole resource as a column value")
        if isinstance(expr, Ref):
            return self.reference(expr)
        if isinstance(expr, Value):
            return self.literal(expr), None
        if isinstance(expr, Path) and not expr.array_tail and not expr.multi:
            if self.kind == "string":
                return self.convert_text(self.extract(f"json_extract_string({expr.base}, {_quote(expr.path)})"), None)
            # a top-level element is its own JSON column; the text of a date is an extraction of its own,
            # as the date macros repeat their argument (a longer expression costs planning time)
            extraction = expr.base if expr.path == "$" else f"json_extract({expr.base}, {_quote(expr.path)})"
            json_value = self.extract(extraction)
            if self.kind in {"date32", "timestamp"}:
                return self.convert_text(self.extract(_json_string_text(extraction)), None, json_value)
            return self.convert_json(json_value, None)
        items = self.extract(expr.json_list() if isinstance(expr, Path) else expr.sql)  # type: ignore[union-attr]
        many = None if isinstance(expr, ListOf) and expr.single else f"(coalesce(len({items}), 0) > 1)"
        if self.kind == "string":
            return self.convert_text(f"json_extract_string({items}[1], '$')", many)
        if self.kind in {"date32", "timestamp"}:
            return self.convert_text(_json_string_text(f"{items}[1]"), many, f"{items}[1]")
        return self.convert_json(f"{items}[1]", many)

    def literal(self, expr: Value) -> str:
        if self.kind == "string" and expr.type == "boolean":
            alias = self.extract(expr.sql)
            return f"CASE WHEN {alias} THEN 'true' WHEN NOT {alias} THEN 'false' END"
        casts = {"string": "VARCHAR", "boolean": "BOOLEAN", "int64": "BIGINT", "float64": "DOUBLE"}
        if self.kind not in casts:
            raise NotTranslatable("literal of a temporal column")
        return f"CAST({self.extract(expr.sql)} AS {casts[self.kind]})"

    def reference(self, ref: Ref) -> tuple[str, str]:
        """getReferenceKey as (value, error) SQL in few and cheap calls (each costs planning time, on
        every file): `Type/id` and urn:uuid:X / urn:oid:X are keyed here, and a conditional
        `Type?query` has no key. Any other form (absolute, versioned, a '/' before a '?') is flagged:
        the Python engine keys it."""
        if self.kind != "string":
            raise NotTranslatable("reference key in a non-string column")
        r = self.extract(f"json_extract_string({ref.base}, {_quote(ref.path + _key('reference'))})")
        urn = f"WHEN starts_with({r}, 'urn:uuid:') OR starts_with({r}, 'urn:oid:') THEN "
        last_segment = f"regexp_extract({r}, '[^:]*$')"
        if ref.expected is None:
            value = (
                f"(CASE WHEN starts_with({r}, '#') THEN NULL {urn}{last_segment} "
                f"WHEN strpos({r}, '/') > 1 AND NOT contains({r}, '?') "
                f"THEN nullif(substr({r}, strpos({r}, '/') + 1), '') END)"
            )
        else:
            declared = f"json_extract_string({ref.base}, {_quote(ref.path + _key('type'))})"
            expected = _quote(ref.expected)
            value = (
                f"(CASE WHEN starts_with({r}, {_quote(ref.expected + '/')}) "
                f"THEN nullif(substr({r}, {len(ref.expected) + 2}), '') "
                f"{urn}CASE WHEN coalesce({declared}, {expected}) = {expected} THEN {last_segment} END END)"
            )
        conditional = f"strpos({r}, '/') BETWEEN 1 AND strpos({r}, '?')"  # a '/' before the '?'
        return value, f"(CASE WHEN contains({r}, '?') THEN {conditional} ELSE {r} LIKE '%/%/%' END)"

    def convert_text(self, text: str, many: str | None, present: str | None = None) -> tuple[str, str | None]:
        """A string column as is; a date/timestamp parsed, flagged when a `present` value fails."""
        if self.kind == "string":
            return text, many
        fn = "fhir_date" if self.kind == "date32" else "fhir_ts"
        bad = f"({present or text} IS NOT NULL AND {{value}} IS NULL)"
        return f"{fn}({text})", bad if many is None else f"({many} OR {bad})"

    def convert_json(self, value: str, many: str | None) -> tuple[str, str | None]:
        kinds = {
            "boolean": ("('BOOLEAN')", "BOOLEAN"),
            "int64": ("('BIGINT', 'UBIGINT')", "BIGINT"),
            "float64": ("('DOUBLE', 'BIGINT', 'UBIGINT')", "DOUBLE"),
        }
        if self.kind not in kinds:
            raise NotTranslatable(f"column of Arrow type {self.kind}")
        allowed, cast = kinds[self.kind]
        if self.kind == "boolean":  # compare the minified JSON text: a JSON string "true" stays an error
            typed = f"(CASE CAST({value} AS VARCHAR) WHEN 'true' THEN true WHEN 'false' THEN false END)"
        elif self.kind == "float64":  # a JSON number's text casts; a quoted string does not
            typed = f"TRY_CAST(CAST({value} AS VARCHAR) AS DOUBLE)"
        else:
            typed = f"(CASE WHEN json_type({value}) IN {allowed} THEN TRY_CAST({value} AS {cast}) END)"
        bad = f"({value} IS NOT NULL AND {{value}} IS NULL)"
        return typed, bad if many is None else f"({many} OR {bad})"


@dataclass(frozen=True)
class SqlItems:
    """A top-level forEach/forEachOrNull: per resource, a list with one struct per element
    (fields i0, i1, ... hold the item columns, `err` flags a broken element)."""

    sql: str
    names: list[str]
    or_null: bool
    row_index: list[bool]
    hoisted: list[str]  # columns that do not depend on the element: computed once per resource


@dataclass(frozen=True)
class SqlPlan:
    """The translated query parts of a view: top-level columns, and optionally one forEach."""

    columns: list[SqlColumn]
    names: list[str]
    where: list[str]
    top_level: list[str]
    items: SqlItems | None = None

    def query(self, path: str, resource: str) -> str:
        """Four projections: extractions (and __keep), values, error flag, raw JSON of flagged rows.

        No WHERE and no row numbers, so DuckDB scans in parallel; rows come back in file order
        (insertion order is preserved) and the caller numbers them and drops rows with __keep false.
        """
        raw = [f'"{c}"' for c in self.top_level]
        json_columns = ", ".join(f"{c}: 'JSON'" for c in [*raw, '"resourceType"'])
        source = (
            f"read_json({_quote(path)}, format='newline_delimited', records=true, "
            f"maximum_object_size=16777216, columns={{{json_columns}}})"
        )
        extracts = [f"{sql} AS {alias}" for c in self.columns for alias, sql in c.extracts]
        values = [f'{c.value} AS "v{i}"' for i, c in enumerate(self.columns)]
        errors = [c.error.replace("{value}", f'"v{i}"') for i, c in enumerate(self.columns) if c.error is not None]
        items: list[str] = []
        if self.items is not None:
            extracts.append(f"{self.items.sql} AS __items")
            items = ["__items"]
            errors.append("list_contains(list_transform(__items, lambda s: s.err), true)")
        error = " OR ".join(f"coalesce({e}, false)" for e in errors) or "false"
        keep = " AND ".join([f"json_extract_string(\"resourceType\", '$') = {_quote(resource)}", *self.where])
        carried = ", ".join(["__keep", *raw, *items])
        outputs = ", ".join([*(f'"v{i}" AS "{n}"' for i, n in enumerate(self.names)), *items])
        pairs = ", ".join(f'{_quote(c)}, "{c}"' for c in self.top_level)
        value_names = ", ".join([*(f'"v{i}"' for i in range(len(self.names))), "NULL AS __unused"])
        aliases = [alias for c in self.columns for alias, _ in c.extracts]
        level1 = f"SELECT {', '.join([*raw, f'coalesce({keep}, false) AS __keep', *extracts])} FROM {source}"
        level2 = f"SELECT {', '.join([carried, *aliases, *values])} FROM ({level1})"
        level3 = f"SELECT {carried}, {value_names}, (__keep AND ({error})) AS __error FROM ({level2})"
        return (
            f"SELECT __keep, {outputs}, __error, CASE WHEN __error THEN json_object({pairs}) END AS __raw "
            f"FROM ({level3})"
        )


def _items(t: _Translator, spec: ViewSpec, select: SelectSpec, kinds: dict[str, str]) -> SqlItems:
    """The struct list of a top-level forEach/forEachOrNull whose own selects are flat."""
    source = t.expr(parse(select.iterate_path), None)
    if isinstance(source, Path):
        listed = (
            source.json_list()
            if source.array_tail or source.multi
            else f"list_filter([json_extract({source.base}, {_quote(source.path)})], lambda n: n IS NOT NULL)"
        )
    elif isinstance(source, ListOf):
        listed = source.sql
    else:
        raise NotTranslatable("forEach over a value")
    focus = Path("__it", "$", source.type)
    t.row_index_sql = "(__ix - 1)"
    fields, errors, names, row_index, hoisted = [], [], [], [], []
    for column in select.all_columns():
        if column.collection:
            raise NotTranslatable("collection column")
        built = _Column(t, 1000 + len(names), kinds[column.name], focus).build(parse(column.path))
        if not re.search(r"__i[tx]", built.value + (built.error or "")):
            hoisted.append(column.name)  # e.g. %resource.subject...: the same for every element
            continue
        fields.append(f"i{len(names)} := {built.value}")
        if built.error is not None:
            errors.append(f"coalesce({built.error.replace('{value}', built.value)}, false)")
        names.append(column.name)
        row_index.append(column.is_row_index)
    t.row_index_sql = "0"
    err = " OR ".join(errors) or "false"
    sql = f"list_transform({listed}, lambda __it, __ix: struct_pack({', '.join([*fields, f'err := {err}'])}))"
    return SqlItems(sql, names, select.or_null, row_index, hoisted)


def plan_view(spec: ViewSpec, arrow_kinds: list[str]) -> SqlPlan:
    """Translate a view with flat selects and at most one top-level forEach/forEachOrNull (whose
    own selects are flat); raises NotTranslatable when any part is outside the SQL subset."""
    iterating: SelectSpec | None = None
    for select in spec.root.selects:
        if select.is_flat:
            continue
        one_level = select.iterate is not None and not select.repeat and not select.union_all
        if iterating is not None or not one_level or not all(s.is_flat for s in select.selects):
            raise NotTranslatable("nested or several iterations")
        iterating = select
    kinds = {c.name: k for c, k in zip(spec.columns, arrow_kinds, strict=True)}
    t = _Translator(spec.resource, spec.constants)
    items = None if iterating is None else _items(t, spec, iterating, kinds)
    inside = set() if items is None else set(items.names)
    columns, names = [], []
    for index, column in enumerate(spec.columns):
        if column.name in inside:
            continue
        if column.collection:
            raise NotTranslatable("collection column")
        columns.append(_Column(t, index, kinds[column.name]).build(parse(column.path)))
        names.append(column.name)
    where = [f"coalesce({t.boolean(t.expr(parse(w_text), None))}, false)" for w_text in spec.where_paths]
    t.top_level.add("id")
    return SqlPlan(columns, names, where, sorted(t.top_level), items)
