"""Translate a flat ViewDefinition into one DuckDB query over NDJSON (the fast path for flat views).

Only a subset translates: member paths (with cardinality and choice types from the FHIR R4 model),
first() and [n], ofType() on choice elements, where() on repeating elements, exists()/empty()/not(),
= and != against literals, and/or, iif(), getResourceKey() and getReferenceKey([type]). Anything
else raises NotTranslatable and the view runs on the Python closures instead. Values that break the
column contract (several values in a non-collection column, wrong JSON type, bad dates) are flagged
per row and re-evaluated by the Python engine, so both paths give the same rows and quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from fhirmony.views.definition import ColumnSpec, ViewSpec
from fhirmony.views.fhirpath.parser import Binary, Call, Identifier, Index, Literal, Member, Node, Unary, parse
from fhirmony.views.fhirpath.values import normalize_type_name
from fhirmony.views.model import choice_types, element

STRING_TYPES = {"string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "time"}

MACROS = [
    """CREATE OR REPLACE MACRO fhir_ts(s) AS TRY_CAST(
         CASE length(s) WHEN 4 THEN s || '-01-01' WHEN 7 THEN s || '-01' ELSE s END AS TIMESTAMPTZ)""",
    """CREATE OR REPLACE MACRO fhir_date(s) AS TRY_CAST(
         CASE length(s) WHEN 4 THEN s || '-01-01' WHEN 7 THEN s || '-01' ELSE left(s, 10) END AS DATE)""",
    """CREATE OR REPLACE MACRO fhir_ref_parts(r) AS (
         CASE WHEN len(string_split(rtrim(split_part(r, '?', 1), '/'), '/')) >= 4
                   AND string_split(rtrim(split_part(r, '?', 1), '/'), '/')[-2] = '_history'
              THEN string_split(rtrim(split_part(r, '?', 1), '/'), '/')[:-3]
              ELSE string_split(rtrim(split_part(r, '?', 1), '/'), '/') END)""",
    """CREATE OR REPLACE MACRO fhir_ref_key(r, declared, expected) AS (
         CASE WHEN r IS NULL OR r = '' OR starts_with(r, '#') THEN NULL
              WHEN starts_with(r, 'urn:uuid:') OR starts_with(r, 'urn:oid:') THEN
                   CASE WHEN expected IS NOT NULL AND declared IS NOT NULL AND declared <> expected THEN NULL
                        ELSE regexp_extract(r, '[^:]*$') END
              WHEN len(fhir_ref_parts(r)) < 2 OR fhir_ref_parts(r)[-1] = '' THEN NULL
              WHEN expected IS NOT NULL AND fhir_ref_parts(r)[-2] <> expected THEN NULL
              ELSE fhir_ref_parts(r)[-1] END)""",
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
    """A SQL list of JSON values."""

    sql: str
    type: str | None


@dataclass(frozen=True)
class Value:
    """A typed SQL scalar (BOOLEAN, VARCHAR, BIGINT, DOUBLE); NULL is the empty collection."""

    sql: str
    type: str


Expr = Path | ListOf | Value


class _Translator:
    def __init__(self, resource: str, constants: dict[str, object]) -> None:
        self.resource = resource
        self.constants = constants
        self.top_level: set[str] = set()
        self.lambda_depth = 0

    # ---------------------------------------------------------- entry points
    def expr(self, node: Node, focus: Path | None) -> Expr:
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
        from fhirmony.views.fhirpath.parser import Variable

        if isinstance(node, Variable) and node.name in self.constants:
            value = self.constants[node.name]
            return self.literal(value, "string" if isinstance(value, str) else "")
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
                f"flatten(list_transform({target.sql}, x -> {inner}))"
                if found[1]
                else (f"list_transform({target.sql}, x -> {inner})")
            )
            return ListOf(f"list_filter({mapped}, x -> x IS NOT NULL)", found[0])
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
            return ListOf(f"({target.json_list()})[{n + 1}:{n + 1}]", target.type)
        if isinstance(target, ListOf):
            return ListOf(f"({target.sql})[{n + 1}:{n + 1}]", target.type)
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
        if name == "getResourceKey" and not args and node.target is None and focus is None:
            self.top_level.add("id")
            return Value("json_extract_string(\"id\", '$')", "string")
        source = self.expr(node.target, focus) if node.target is not None else focus
        if source is None:
            raise NotTranslatable(f"{name}() on the resource")
        if name == "first" and not args:
            return self.nth(source, 0)
        if name in {"exists", "empty"} and not args:
            test = self.exists(source)
            return Value(test if name == "exists" else f"(NOT {test})", "boolean")
        if name == "not" and not args and isinstance(source, Value) and source.type == "boolean":
            return Value(f"(NOT {source.sql})", "boolean")
        if name == "getReferenceKey" and len(args) <= 1:
            return self.reference_key(source, args)
        if name == "where" and len(args) == 1 and isinstance(source, Path | ListOf):
            return self.where(source, args[0])
        raise NotTranslatable(f"{name}()")

    def exists(self, source: Expr) -> str:
        if isinstance(source, Path):
            if not source.array_tail and not source.multi:
                return f"(json_extract({source.base}, {_quote(source.path)}) IS NOT NULL)"
            return f"(coalesce(len({source.json_list()}), 0) > 0)"
        if isinstance(source, ListOf):
            return f"(coalesce(len({source.sql}), 0) > 0)"
        return f"({source.sql} IS NOT NULL)"

    def reference_key(self, source: Expr, args: tuple[Node, ...]) -> Value:
        expected = "NULL"
        if args:
            if not isinstance(args[0], Identifier):
                raise NotTranslatable("getReferenceKey argument")
            expected = _quote(normalize_type_name(args[0].name))
        if not isinstance(source, Path) or source.array_tail or source.multi or source.type != "Reference":
            raise NotTranslatable("getReferenceKey on a collection")
        ref = f"json_extract_string({source.base}, {_quote(source.path + _key('reference'))})"
        declared = f"json_extract_string({source.base}, {_quote(source.path + _key('type'))})"
        return Value(f"fhir_ref_key({ref}, {declared}, {expected})", "string")

    def where(self, source: Path | ListOf, criterion: Node) -> ListOf:
        items = source.json_list() if isinstance(source, Path) else source.sql
        variable = f"w{self.lambda_depth}"
        self.lambda_depth += 1
        test = self.boolean(self.expr(criterion, Path(variable, "$", source.type)))
        self.lambda_depth -= 1
        return ListOf(f"list_filter({items}, {variable} -> coalesce({test}, false))", source.type)

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
        raise NotTranslatable(f"operator {op}")

    def boolean(self, expr: Expr) -> str:
        if isinstance(expr, Value) and expr.type == "boolean":
            return expr.sql
        if isinstance(expr, Path) and expr.type == "boolean" and not expr.array_tail and not expr.multi:
            j = f"json_extract({expr.base}, {_quote(expr.path)})"
            return f"(CASE WHEN json_type({j}) = 'BOOLEAN' THEN {j}::BOOLEAN END)"
        raise NotTranslatable("non-boolean condition")

    def scalar(self, expr: Expr, kind: str) -> str:
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


@dataclass(frozen=True)
class SqlColumn:
    """The SQL of one output column: its typed value and its contract-violation flag."""

    value: str
    error: str


def _column_sql(t: _Translator, column: ColumnSpec, arrow_kind: str) -> SqlColumn:
    return _column_node(t, parse(column.path), column, arrow_kind)


def _column_node(t: _Translator, node: Node, column: ColumnSpec, arrow_kind: str) -> SqlColumn:
    """A column expression; a top-level iif(c, a, b) becomes CASE over two translated branches."""
    if isinstance(node, Call) and node.name == "iif" and node.target is None and len(node.args) == 3:
        condition = f"coalesce({t.boolean(t.expr(node.args[0], None))}, false)"
        then = _column_node(t, node.args[1], column, arrow_kind)
        other = _column_node(t, node.args[2], column, arrow_kind)
        return SqlColumn(
            f"(CASE WHEN {condition} THEN {then.value} ELSE {other.value} END)",
            f"(CASE WHEN {condition} THEN {then.error} ELSE {other.error} END)",
        )
    return _column_sql_expr(t, t.expr(node, None), column, arrow_kind)


def _column_sql_expr(t: _Translator, expr: Expr, column: ColumnSpec, arrow_kind: str) -> SqlColumn:
    if column.collection:
        raise NotTranslatable("collection column")
    if isinstance(expr, Value):
        return SqlColumn(_typed_value(expr, arrow_kind), "false")
    if isinstance(expr, Path) and not expr.array_tail and not expr.multi:
        json_value = f"json_extract({expr.base}, {_quote(expr.path)})"
        text = f"json_extract_string({expr.base}, {_quote(expr.path)})"
        many = "false"
    else:
        items = expr.json_list() if isinstance(expr, Path) else expr.sql  # type: ignore[union-attr]
        json_value = f"({items})[1]"
        text = f"json_extract_string(({items})[1], '$')"
        many = f"(coalesce(len({items}), 0) > 1)"
    return _convert(json_value, text, many, arrow_kind)


def _typed_value(expr: Value, arrow_kind: str) -> str:
    if arrow_kind == "string" and expr.type == "boolean":
        return f"CASE WHEN {expr.sql} THEN 'true' WHEN NOT {expr.sql} THEN 'false' END"
    if arrow_kind in {"string", "boolean", "int64", "float64"}:
        cast = {"string": "VARCHAR", "boolean": "BOOLEAN", "int64": "BIGINT", "float64": "DOUBLE"}[arrow_kind]
        return f"CAST({expr.sql} AS {cast})"
    raise NotTranslatable("literal of a temporal column")


def _convert(json_value: str, text: str, many: str, arrow_kind: str) -> SqlColumn:
    kind = f"json_type({json_value})"
    if arrow_kind == "string":
        return SqlColumn(text, many)
    if arrow_kind == "boolean":
        return SqlColumn(
            f"(CASE WHEN {kind} = 'BOOLEAN' THEN {json_value}::BOOLEAN END)",
            f"({many} OR ({json_value} IS NOT NULL AND {kind} <> 'BOOLEAN'))",
        )
    if arrow_kind == "int64":
        return SqlColumn(
            f"(CASE WHEN {kind} IN ('BIGINT', 'UBIGINT') THEN TRY_CAST({json_value} AS BIGINT) END)",
            f"({many} OR ({json_value} IS NOT NULL AND {kind} NOT IN ('BIGINT', 'UBIGINT')))",
        )
    if arrow_kind == "float64":
        return SqlColumn(
            f"(CASE WHEN {kind} IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN TRY_CAST({json_value} AS DOUBLE) END)",
            f"({many} OR ({json_value} IS NOT NULL AND {kind} NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT')))",
        )
    if arrow_kind in {"date32", "timestamp"}:
        fn = "fhir_date" if arrow_kind == "date32" else "fhir_ts"
        value = f"(CASE WHEN {kind} = 'VARCHAR' THEN {fn}({text}) END)"
        return SqlColumn(value, f"({many} OR ({json_value} IS NOT NULL AND {value} IS NULL))")
    raise NotTranslatable(f"column of Arrow type {arrow_kind}")


@dataclass(frozen=True)
class SqlPlan:
    """The translated query parts of a flat view."""

    columns: list[SqlColumn]
    where: list[str]
    top_level: list[str]

    def query(self, path: str, resource: str, names: list[str]) -> str:
        json_columns = ", ".join(f"\"{c}\": 'JSON'" for c in [*self.top_level, "resourceType"])
        source = (
            f"read_json({_quote(path)}, format='newline_delimited', records=true, "
            f"maximum_object_size=134217728, columns={{{json_columns}}})"
        )
        values = ", ".join(f'{c.value} AS "{n}"' for c, n in zip(self.columns, names, strict=True))
        errors = " OR ".join(f"coalesce({c.error}, false)" for c in self.columns) or "false"
        raw = ", ".join(f'{_quote(c)}, "{c}"' for c in self.top_level)
        conditions = " AND ".join([f"json_extract_string(\"resourceType\", '$') = {_quote(resource)}", *self.where])
        needed = ", ".join(f'"{c}"' for c in [*self.top_level, "resourceType"])
        inner = f"SELECT row_number() OVER () AS __line, {needed} FROM {source}"
        return (
            f"SELECT __line, {values}, ({errors}) AS __error, "
            f"CASE WHEN ({errors}) THEN json_object({raw}) END AS __raw "
            f"FROM ({inner}) WHERE {conditions}"
        )


def plan_view(spec: ViewSpec, arrow_kinds: list[str]) -> SqlPlan:
    """Translate a flat view; raises NotTranslatable when any part is outside the SQL subset."""
    if not spec.root.is_flat:
        raise NotTranslatable("not a flat view")
    t = _Translator(spec.resource, spec.constants)
    columns = [_column_sql(t, c, k) for c, k in zip(spec.columns, arrow_kinds, strict=True)]
    where = [f"coalesce({t.boolean(t.expr(parse(w_text), None))}, false)" for w_text in spec.where_paths]
    t.top_level.add("id")
    return SqlPlan(columns, where, sorted(t.top_level))
