"""FHIRPath functions: the Shareable subset, the SQL-on-FHIR key functions, and common extras.

Each builder turns a `Call` node into a `Compiled` closure at compile time; an unknown function
name or a wrong argument count is a compile-time FhirPathSyntaxError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from fhirmony.views.errors import EvaluationError, FhirPathSyntaxError
from fhirmony.views.fhirpath.boundary import boundary
from fhirmony.views.fhirpath.compiler import Compiled, Compiler, Env, typed_member_fn
from fhirmony.views.fhirpath.operators import collection_equals, to_boolean, union
from fhirmony.views.fhirpath.parser import Call, Identifier, Literal, Member, Node
from fhirmony.views.fhirpath.values import (
    checked_type_name,
    equals,
    is_number,
    normalize_type_name,
    parse_decimal,
    runtime_type,
    temporal_kind,
    to_decimal,
    type_matches,
)

Builder = Callable[[Compiler, Call], Compiled]
BUILDERS: dict[str, Builder] = {}


def build_call(compiler: Compiler, node: Call) -> Compiled:
    builder = BUILDERS.get(node.name)
    if builder is None:
        raise FhirPathSyntaxError(f"unknown function {node.name}()")
    return builder(compiler, node)


def _arity(node: Call, low: int, high: int) -> None:
    if not low <= len(node.args) <= high:
        expected = str(low) if low == high else f"{low}-{high}"
        raise FhirPathSyntaxError(f"{node.name}() takes {expected} argument(s), got {len(node.args)}")


def register(name: str, *aliases: str) -> Callable[[Builder], Builder]:
    def wrap(builder: Builder) -> Builder:
        for key in (name, *aliases):
            BUILDERS[key] = builder
        return builder

    return wrap


def simple(
    name: str,
    low: int = 0,
    high: int = 0,
    result: str | Callable[[str | None], str | None] | None = None,
    at_root: bool = False,
) -> Callable[[Callable[..., list]], Callable[..., list]]:
    """Register `impl(items, *args)` whose arguments are evaluated once: against the input collection,
    or with `at_root` against the expression's focus ($this), as for union/combine/exclude."""

    def wrap(impl: Callable[..., list]) -> Callable[..., list]:
        def builder(compiler: Compiler, node: Call) -> Compiled:
            _arity(node, low, high)
            source = compiler.input_of(node)
            src = source.fn
            with compiler.focused(compiler.focus_type if at_root else source.type):
                args = [compiler.compile(a).fn for a in node.args]
            kind = result(source.type) if callable(result) else result
            if not args:
                return Compiled(lambda focus, env: impl(src(focus, env)), kind)

            def fn(focus: list, env: Env) -> list:
                items = src(focus, env)
                context = focus if at_root else items
                return impl(items, *(a(context, env) for a in args))

            return Compiled(fn, kind)

        BUILDERS[name] = builder
        return impl

    return wrap


def same(kind: str | None) -> str | None:
    return kind


def _one(items: list, what: str) -> object:
    if len(items) > 1:
        raise EvaluationError(f"{what}() needs a single input item, got {len(items)}")
    return items[0]


def _string_arg(values: list, what: str) -> str | None:
    if not values:
        return None
    value = _one(values, what)
    if type(value) is not str:
        raise EvaluationError(f"{what}() needs a string argument")
    return value


def _int_arg(values: list, what: str) -> int | None:
    if not values:
        return None
    value = _one(values, what)
    if type(value) is not int:
        raise EvaluationError(f"{what}() needs an integer argument")
    return value


def _type_name(node: Node) -> str:
    """A type specifier argument (an identifier, a dotted name or a string literal) naming a known type."""
    if isinstance(node, Identifier):
        name = node.name
    elif isinstance(node, Member) and isinstance(node.target, Identifier):
        name = f"{node.target.name}.{node.name}"
    elif isinstance(node, Literal) and node.kind == "string":
        name = str(node.value)
    else:
        raise FhirPathSyntaxError("expected a type name")
    return checked_type_name(name)


# ---------------------------------------------------------------- existence & filtering
@simple("empty", result="boolean")
def _empty(items: list) -> list:
    return [not items]


@simple("hasValue", result="boolean")
def _has_value(items: list) -> list:
    return [len(items) == 1 and type(items[0]) is not dict]


@simple("count", result="integer")
def _count(items: list) -> list:
    return [len(items)]


@simple("first", result=same)
def _first(items: list) -> list:
    return items[:1]


@simple("last", result=same)
def _last(items: list) -> list:
    return items[-1:]


@simple("tail", result=same)
def _tail(items: list) -> list:
    return items[1:]


@simple("single", result=same)
def _single(items: list) -> list:
    if len(items) > 1:
        raise EvaluationError(f"single() got {len(items)} items")
    return items


@simple("skip", 1, 1, result=same)
def _skip(items: list, n: list) -> list:
    count = _int_arg(n, "skip")
    return items if count is None else items[max(count, 0) :]


@simple("take", 1, 1, result=same)
def _take(items: list, n: list) -> list:
    count = _int_arg(n, "take")
    return [] if count is None else items[: max(count, 0)]


@simple("distinct", result=same)
def _distinct(items: list) -> list:
    return union(items, [])


@simple("isDistinct", result="boolean")
def _is_distinct(items: list) -> list:
    return [len(union(items, [])) == len(items)]


@simple("not", result="boolean")
def _not(items: list) -> list:
    value = to_boolean(items)
    return [] if value is None else [not value]


@simple("allTrue", result="boolean")
def _all_true(items: list) -> list:
    return [all(i is True for i in items)]


@simple("anyTrue", result="boolean")
def _any_true(items: list) -> list:
    return [any(i is True for i in items)]


@simple("allFalse", result="boolean")
def _all_false(items: list) -> list:
    return [all(i is False for i in items)]


@simple("anyFalse", result="boolean")
def _any_false(items: list) -> list:
    return [any(i is False for i in items)]


@simple("union", 1, 1, result=None, at_root=True)
def _union(items: list, other: list) -> list:
    return union(items, other)


@simple("combine", 1, 1, result=None, at_root=True)
def _combine(items: list, other: list) -> list:
    return items + other


@simple("intersect", 1, 1, result=same, at_root=True)
def _intersect(items: list, other: list) -> list:
    return [i for i in union(items, []) if any(equals(i, o) is True for o in other)]


@simple("exclude", 1, 1, result=same, at_root=True)
def _exclude(items: list, other: list) -> list:
    return [i for i in items if not any(equals(i, o) is True for o in other)]


@simple("subsetOf", 1, 1, result="boolean", at_root=True)
def _subset_of(items: list, other: list) -> list:
    return [all(any(equals(i, o) is True for o in other) for i in items)]


@simple("supersetOf", 1, 1, result="boolean", at_root=True)
def _superset_of(items: list, other: list) -> list:
    return [all(any(equals(o, i) is True for i in items) for o in other)]


def _per_item(compiler: Compiler, node: Call) -> tuple[Callable[[list, Env], list], Callable[[list, Env], list]]:
    """Input and a criterion evaluated once per input item ($this = item, $index = position)."""
    source = compiler.input_of(node)
    with compiler.focused(source.type):
        criterion = compiler.compile(node.args[0]).fn
    return source.fn, criterion


@register("where")
def _where(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    source, criterion = _per_item(compiler, node)

    def fn(focus: list, env: Env) -> list:
        out = []
        saved = env.index
        for i, item in enumerate(source(focus, env)):
            env.index = i
            if to_boolean(criterion([item], env)) is True:
                out.append(item)
        env.index = saved
        return out

    return Compiled(fn, compiler.input_of(node).type)


@register("select")
def _select(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    source, projection = _per_item(compiler, node)

    def fn(focus: list, env: Env) -> list:
        out: list = []
        saved = env.index
        for i, item in enumerate(source(focus, env)):
            env.index = i
            out.extend(projection([item], env))
        env.index = saved
        return out

    with compiler.focused(compiler.input_of(node).type):
        result_type = compiler.compile(node.args[0]).type
    return Compiled(fn, result_type)


@register("exists")
def _exists(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 0, 1)
    if not node.args:
        source = compiler.input_of(node).fn
        return Compiled(lambda focus, env: [bool(source(focus, env))], "boolean")
    where = _where(compiler, node).fn
    return Compiled(lambda focus, env: [bool(where(focus, env))], "boolean")


@register("all")
def _all(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    source, criterion = _per_item(compiler, node)

    def fn(focus: list, env: Env) -> list:
        saved = env.index
        for i, item in enumerate(source(focus, env)):
            env.index = i
            if to_boolean(criterion([item], env)) is not True:
                env.index = saved
                return [False]
        env.index = saved
        return [True]

    return Compiled(fn, "boolean")


@register("repeat")
def _repeat(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    source, projection = _per_item(compiler, node)

    def fn(focus: list, env: Env) -> list:
        out: list = []
        queue = list(source(focus, env))
        while queue:
            item = queue.pop(0)
            for child in projection([item], env):
                if not any(equals(child, seen) is True for seen in out):
                    out.append(child)
                    queue.append(child)
        return out

    return Compiled(fn)


@register("aggregate")
def _aggregate(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 2)
    source, step = _per_item(compiler, node)
    init = compiler.compile(node.args[1]).fn if len(node.args) > 1 else None

    def fn(focus: list, env: Env) -> list:
        items = source(focus, env)
        saved_total, saved_index = env.total, env.index
        env.total = init(items, env) if init else []
        for i, item in enumerate(items):
            env.index = i
            env.total = step([item], env)
        result = env.total
        env.total, env.index = saved_total, saved_index
        return result

    return Compiled(fn)


@register("iif")
def _iif(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 2, 3)
    source_compiled = compiler.input_of(node)
    source = source_compiled.fn
    with compiler.focused(source_compiled.type):
        criterion = compiler.compile(node.args[0]).fn
        then = compiler.compile(node.args[1])
        otherwise_compiled = compiler.compile(node.args[2]) if len(node.args) > 2 else None
    otherwise = otherwise_compiled.fn if otherwise_compiled else None
    same_type = otherwise_compiled is None or otherwise_compiled.type == then.type
    return Compiled(_iif_fn(source, criterion, then.fn, otherwise), then.type if same_type else None)


def _iif_fn(source: Callable, criterion: Callable, then: Callable, otherwise: Callable | None) -> Callable:
    def fn(focus: list, env: Env) -> list:
        items = source(focus, env)
        if to_boolean(criterion(items, env)) is True:
            return then(items, env)
        return otherwise(items, env) if otherwise else []

    return fn


@register("ofType")
def _of_type(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    type_name = _type_name(node.args[0])
    bare = normalize_type_name(type_name)
    target = node.target
    if isinstance(target, Member):
        return Compiled(typed_member_fn(compiler.compile(target.target).fn, target.name, bare), bare)
    if isinstance(target, Identifier) and not target.name[0].isupper():
        return Compiled(typed_member_fn(None, target.name, bare), bare)
    source = compiler.input_of(node).fn
    return Compiled(lambda focus, env: [i for i in source(focus, env) if type_matches(i, bare)], bare)


@register("is")
def _is_function(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 1, 1)
    typed = _of_type(compiler, node).fn
    source = compiler.input_of(node).fn

    def fn(focus: list, env: Env) -> list:
        items = source(focus, env)
        return [] if not items else [bool(typed(focus, env))]

    return Compiled(fn, "boolean")


BUILDERS["as"] = _of_type


@register("extension")
def _extension(compiler: Compiler, node: Call) -> Compiled:
    """extension(url) on elements, including primitives whose extensions sit in `_name` (FHIR JSON)."""
    _arity(node, 1, 1)
    source = compiler.input_of(node).fn
    url_fn = compiler.compile(node.args[0]).fn
    target = node.target
    primitive: tuple[Callable[[list, Env], list], str] | None = None
    if isinstance(target, Member):
        primitive = (compiler.compile(target.target).fn, "_" + target.name)
    elif isinstance(target, Identifier) and not target.name[0].isupper():
        primitive = (lambda focus, env: focus, "_" + target.name)

    def fn(focus: list, env: Env) -> list:
        items = source(focus, env)
        url = _string_arg(url_fn(items, env), "extension")
        holders = [i for i in items if type(i) is dict]
        if primitive is not None:
            for parent in primitive[0](focus, env):
                shadow = parent.get(primitive[1]) if type(parent) is dict else None
                holders.extend(s for s in (shadow if type(shadow) is list else [shadow]) if type(s) is dict)
        return [
            ext
            for holder in holders
            for ext in holder.get("extension") or ()
            if type(ext) is dict and ext.get("url") == url
        ]

    return Compiled(fn, "Extension")


@simple("children")
def _children(items: list) -> list:
    out: list = []
    for item in items:
        if type(item) is dict:
            for key, value in item.items():
                if key == "resourceType" or value is None:
                    continue
                if type(value) is list:
                    out.extend(v for v in value if v is not None)
                else:
                    out.append(value)
    return out


@simple("descendants")
def _descendants(items: list) -> list:
    out: list = []
    layer = _children(items)
    while layer:
        out.extend(layer)
        layer = _children(layer)
    return out


@simple("trace", 1, 2, result=same)
def _trace(items: list, *_: list) -> list:
    return items


# ---------------------------------------------------------------- SQL on FHIR key functions
@simple("getResourceKey", result="string")
def _resource_key(items: list) -> list:
    return [i["id"] for i in items if type(i) is dict and "resourceType" in i and i.get("id") is not None]


# type/id of a literal reference: relative or absolute URL, optional /_history/v, no query part.
REFERENCE_PATTERN = r"^(?:[^?]*?/)??([^/?]+)/([^/?]+?)(?:/_history/[^/?]*)?/*(?:[?].*)?$"
_REFERENCE = re.compile(REFERENCE_PATTERN)


def reference_key(reference: object, expected: str | None) -> str | None:
    """The key a Reference points at: the id of a relative or absolute literal reference or urn:uuid."""
    if type(reference) is not dict:
        return None
    literal = reference.get("reference")
    if type(literal) is not str or not literal or literal.startswith("#"):
        return None
    if literal.startswith(("urn:uuid:", "urn:oid:")):
        declared = reference.get("type")
        if expected and declared and declared != expected:
            return None
        return literal.rsplit(":", 1)[1]
    if literal.count("/") == 1 and "?" not in literal:  # the usual `Type/id`
        kind, _, key = literal.partition("/")
        if not kind or not key or (expected and kind != expected):
            return None
        return key
    match = _REFERENCE.match(literal)
    if match is None or (expected and match.group(1) != expected):
        return None
    return match.group(2)


@register("getReferenceKey")
def _reference_key_fn(compiler: Compiler, node: Call) -> Compiled:
    _arity(node, 0, 1)
    expected = normalize_type_name(_type_name(node.args[0])) if node.args else None
    source = compiler.input_of(node).fn

    def fn(focus: list, env: Env) -> list:
        out = []
        for item in source(focus, env):
            key = reference_key(item, expected)
            if key is not None:
                out.append(key)
        return out

    return Compiled(fn, "string")


# ---------------------------------------------------------------- strings
def _string_input(items: list, what: str) -> str | None:
    if not items:
        return None
    value = _one(items, what)
    if type(value) is not str:
        raise EvaluationError(f"{what}() needs a string input")
    return value


@simple("join", 0, 1, result="string")
def _join(items: list, sep: list | None = None) -> list:
    separator = _string_arg(sep, "join") if sep is not None else ""
    texts = [_fhirpath_string(i) for i in items]
    return [(separator or "").join(t for t in texts if t is not None)]


@simple("startsWith", 1, 1, result="boolean")
def _starts_with(items: list, prefix: list) -> list:
    text, arg = _string_input(items, "startsWith"), _string_arg(prefix, "startsWith")
    return [] if text is None or arg is None else [text.startswith(arg)]


@simple("endsWith", 1, 1, result="boolean")
def _ends_with(items: list, suffix: list) -> list:
    text, arg = _string_input(items, "endsWith"), _string_arg(suffix, "endsWith")
    return [] if text is None or arg is None else [text.endswith(arg)]


@simple("contains", 1, 1, result="boolean")
def _contains(items: list, part: list) -> list:
    text, arg = _string_input(items, "contains"), _string_arg(part, "contains")
    return [] if text is None or arg is None else [arg in text]


@simple("indexOf", 1, 1, result="integer")
def _index_of(items: list, part: list) -> list:
    text, arg = _string_input(items, "indexOf"), _string_arg(part, "indexOf")
    return [] if text is None or arg is None else [text.find(arg)]


@simple("substring", 1, 2, result="string")
def _substring(items: list, start: list, length: list | None = None) -> list:
    text = _string_input(items, "substring")
    begin = _int_arg(start, "substring")
    if text is None or begin is None or begin < 0 or begin >= len(text):
        return []
    size = _int_arg(length, "substring") if length is not None else None
    return [text[begin:] if size is None else text[begin : begin + max(size, 0)]]


@simple("upper", result="string")
def _upper(items: list) -> list:
    text = _string_input(items, "upper")
    return [] if text is None else [text.upper()]


@simple("lower", result="string")
def _lower(items: list) -> list:
    text = _string_input(items, "lower")
    return [] if text is None else [text.lower()]


@simple("trim", result="string")
def _trim(items: list) -> list:
    text = _string_input(items, "trim")
    return [] if text is None else [text.strip()]


@simple("length", result="integer")
def _length(items: list) -> list:
    text = _string_input(items, "length")
    return [] if text is None else [len(text)]


@simple("toChars", result="string")
def _to_chars(items: list) -> list:
    text = _string_input(items, "toChars")
    return [] if text is None else list(text)


@simple("split", 1, 1, result="string")
def _split(items: list, sep: list) -> list:
    text, arg = _string_input(items, "split"), _string_arg(sep, "split")
    return [] if text is None or arg is None else text.split(arg)


@simple("replace", 2, 2, result="string")
def _replace(items: list, pattern: list, substitution: list) -> list:
    text = _string_input(items, "replace")
    old, new = _string_arg(pattern, "replace"), _string_arg(substitution, "replace")
    return [] if text is None or old is None or new is None else [text.replace(old, new)]


@simple("matches", 1, 1, result="boolean")
def _matches(items: list, pattern: list) -> list:
    text, regex = _string_input(items, "matches"), _string_arg(pattern, "matches")
    return [] if text is None or regex is None else [re.search(regex, text, re.DOTALL) is not None]


@simple("matchesFull", 1, 1, result="boolean")
def _matches_full(items: list, pattern: list) -> list:
    text, regex = _string_input(items, "matchesFull"), _string_arg(pattern, "matchesFull")
    return [] if text is None or regex is None else [re.fullmatch(regex, text, re.DOTALL) is not None]


@simple("replaceMatches", 2, 2, result="string")
def _replace_matches(items: list, pattern: list, substitution: list) -> list:
    text = _string_input(items, "replaceMatches")
    regex, new = _string_arg(pattern, "replaceMatches"), _string_arg(substitution, "replaceMatches")
    if text is None or regex is None or new is None:
        return []
    return [re.sub(regex, re.sub(r"\$(\d+)", r"\\\1", new), text)]


# ---------------------------------------------------------------- conversions
def _fhirpath_string(value: object) -> str | None:
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return repr(value)
    if type(value) in (int, str, Decimal):
        return str(value)
    if type(value) is dict and "value" in value:
        unit = value.get("code") or value.get("unit")
        return f"{value['value']} '{unit}'" if unit else str(value["value"])
    return None


def _convert(name: str, result: str, convert: Callable[[object], object]) -> None:
    def impl(items: list) -> list:
        if not items:
            return []
        value = convert(_one(items, name))
        return [] if value is None else [value]

    def check(items: list) -> list:
        if not items:
            return []
        return [convert(_one(items, name)) is not None]

    simple(name, result=result)(impl)
    simple("convertsTo" + name[2:], result="boolean")(check)


def _to_integer(value: object) -> int | None:
    if type(value) is int:
        return value
    if type(value) is bool:
        return int(value)
    if type(value) is str and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return None


def _to_decimal(value: object) -> Decimal | None:
    if type(value) is bool:
        return Decimal(int(value))
    if is_number(value):
        return to_decimal(value)
    if type(value) is str and re.fullmatch(r"[+-]?\d+(\.\d+)?", value):
        return parse_decimal(value)
    return None


_BOOLEAN_TEXT = {"true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
                 "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False}  # fmt: skip


def _to_boolean(value: object) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is str:
        return _BOOLEAN_TEXT.get(value.lower())
    if is_number(value):
        return {1: True, 0: False}.get(value)  # type: ignore[call-overload]
    return None


def _to_temporal(kinds: set[str]) -> Callable[[object], object]:
    def convert(value: object) -> object:
        return value if type(value) is str and temporal_kind(value) in kinds else None

    return convert


_convert("toString", "string", _fhirpath_string)
_convert("toInteger", "integer", _to_integer)
_convert("toDecimal", "decimal", _to_decimal)
_convert("toBoolean", "boolean", _to_boolean)
_convert("toDate", "date", _to_temporal({"date"}))
_convert("toDateTime", "dateTime", _to_temporal({"date", "dateTime"}))
_convert("toTime", "time", _to_temporal({"time"}))


@simple("toQuantity", 0, 1, result="Quantity")
def _to_quantity(items: list, unit: list | None = None) -> list:
    if not items:
        return []
    value = _one(items, "toQuantity")
    if type(value) is dict and "value" in value:
        return [value]
    number = _to_decimal(value)
    return [] if number is None else [{"value": number, "unit": "1", "code": "1"}]


@simple("type")
def _type(items: list) -> list:
    out = []
    for item in items:
        name = runtime_type(item)
        out.append({"namespace": "System" if type(item) is not dict else "FHIR", "name": name})
    return out


# ---------------------------------------------------------------- math
def _math(name: str, op: Callable[[Decimal], object], result: str | None = "decimal") -> None:
    def impl(items: list) -> list:
        if not items:
            return []
        value = _one(items, name)
        if not is_number(value) or type(value) is bool:
            raise EvaluationError(f"{name}() needs a number")
        try:
            out = op(to_decimal(value)) if type(value) is not int or name not in {"abs"} else abs(value)
        except (ValueError, ArithmeticError):
            return []
        return [] if out is None else [out]

    simple(name, result=result if name != "abs" else same)(impl)


_math("abs", abs)
_math("ceiling", lambda d: math.ceil(d), "integer")
_math("floor", lambda d: math.floor(d), "integer")
_math("truncate", lambda d: int(d), "integer")
_math("sqrt", lambda d: None if d < 0 else d.sqrt())
_math("ln", lambda d: None if d <= 0 else d.ln())
_math("log10", lambda d: None if d <= 0 else d.log10())
_math("exp", lambda d: d.exp())


@simple("round", 0, 1, result="decimal")
def _round(items: list, places: list | None = None) -> list:
    if not items:
        return []
    value = _one(items, "round")
    digits = _int_arg(places, "round") if places is not None else 0
    quantum = Decimal(1).scaleb(-(digits or 0))
    return [to_decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)]


@simple("log", 1, 1, result="decimal")
def _log(items: list, base: list) -> list:
    if not items or not base:
        return []
    value, b = to_decimal(_one(items, "log")), to_decimal(_one(base, "log"))
    if value <= 0 or b <= 0 or b == 1:
        return []
    return [value.ln() / b.ln()]


@simple("power", 1, 1, result="decimal")
def _power(items: list, exponent: list) -> list:
    if not items or not exponent:
        return []
    value, power = _one(items, "power"), _one(exponent, "power")
    if type(value) is int and type(power) is int and power >= 0:
        return [value**power]
    try:
        result = to_decimal(value) ** to_decimal(power)
    except ArithmeticError:
        return []
    return [] if result.is_nan() else [result]


# ---------------------------------------------------------------- temporal
def _boundary_builder(high: bool) -> Builder:
    def builder(compiler: Compiler, node: Call) -> Compiled:
        _arity(node, 0, 1)
        source = compiler.input_of(node)
        precision_fn = compiler.compile(node.args[0]).fn if node.args else None
        static_type = source.type
        src = source.fn

        def fn(focus: list, env: Env) -> list:
            items = src(focus, env)
            if not items:
                return []
            precision = _int_arg(precision_fn(items, env), "boundary") if precision_fn else None
            value = boundary(_one(items, "boundary"), high, precision, static_type)
            return [] if value is None else [value]

        result_type = "dateTime" if static_type == "Period" else static_type
        return Compiled(fn, result_type)

    return builder


BUILDERS["lowBoundary"] = _boundary_builder(False)
BUILDERS["highBoundary"] = _boundary_builder(True)


@simple("precision", result="integer")
def _precision(items: list) -> list:
    if not items:
        return []
    value = _one(items, "precision")
    if type(value) is str and temporal_kind(value):
        return [sum(ch.isdigit() for ch in value.split("+")[0].split("Z")[0])]
    if is_number(value) and type(value) is not bool:
        return [max(-to_decimal(value).as_tuple().exponent, 0)]  # type: ignore[operator]
    return []


@simple("now", result="dateTime")
def _now(items: list) -> list:
    return [datetime.now(UTC).isoformat(timespec="milliseconds")]


@simple("today", result="date")
def _today(items: list) -> list:
    return [datetime.now(UTC).date().isoformat()]


@simple("timeOfDay", result="time")
def _time_of_day(items: list) -> list:
    return [datetime.now(UTC).time().isoformat(timespec="milliseconds")]


@simple("equals", 1, 1, result="boolean")
def _equals_fn(items: list, other: list) -> list:
    value = collection_equals(items, other) if items and other else None
    return [] if value is None else [value]
