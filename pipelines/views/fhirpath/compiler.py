"""Compile a FHIRPath AST once into nested Python closures over FHIR JSON (dicts, lists, scalars).

Every compiled expression is `fn(focus: list, env: Env) -> list`: it takes the input collection
(`$this` at the start of the expression) and returns a collection. Constants are folded in at
compile time; the only run-time state is the Env (current resource, %rowIndex, $index, $total).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from fhirmony.views.errors import EvaluationError, FhirPathSyntaxError
from fhirmony.views.fhirpath import operators
from fhirmony.views.fhirpath.parser import (
    Binary,
    Call,
    Identifier,
    Index,
    Literal,
    Member,
    Node,
    Special,
    TypeOp,
    Unary,
    Variable,
    parse,
)
from fhirmony.views.fhirpath.values import CHOICE_SUFFIXES, checked_type_name, normalize_type_name, type_matches

Collection = list
Fn = Callable[[list, "Env"], list]

BUILTIN_VARIABLES: dict[str, object] = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}


class Env:
    """Run-time state of one evaluation: the resource and the iteration variables."""

    __slots__ = ("index", "resource", "row_index", "total")

    def __init__(self, resource: object = None) -> None:
        self.resource = resource
        self.row_index = 0
        self.index = 0
        self.total: list = []


@dataclass(frozen=True)
class Compiled:
    """A compiled expression and the static type of its items when known (FHIR type name)."""

    fn: Fn
    type: str | None = None
    is_row_index: bool = False


def identity(focus: list, env: Env) -> list:
    return focus


def _plain_names() -> frozenset[str]:
    """Element names that the R4 model only knows as ordinary (non-choice) elements. Other names,
    including ones the model lacks (e.g. R5-only), are looked up as choice elements on a miss."""
    from fhirmony.views.model import model

    plain: set[str] = set()
    choice: set[str] = set()
    for elements in model().values():
        for name, (kind, _) in elements.items():
            (choice if kind == "[x]" else plain).add(name)
    return frozenset(plain - choice)


PLAIN_NAMES = _plain_names()


def choice_value(item: dict, name: str) -> object:
    """The value of choice element `name[x]` (e.g. `value` -> `valueQuantity`), or None."""
    if name in PLAIN_NAMES:
        return None
    size = len(name)
    for key, value in item.items():
        if len(key) > size and key.startswith(name) and key[size:] in CHOICE_SUFFIXES:
            return value
    return None


def _extend(out: list, value: object) -> None:
    if type(value) is list:
        if None in value:
            out.extend(v for v in value if v is not None)
        else:
            out.extend(value)
    else:
        out.append(value)


def member_step(name: str) -> Callable[[list], list]:
    """Navigate one child element of every item (choice elements resolved by suffix)."""

    def step(items: list) -> list:
        out: list = []
        for item in items:
            if type(item) is dict:
                value = item.get(name)
                if value is None:
                    value = choice_value(item, name)
                    if value is None:
                        continue
                if type(value) is list:
                    _extend(out, value)
                else:
                    out.append(value)
        return out

    return step


Op = tuple[str, object]  # ("member", name) | ("index", n) | ("typed", (name, type)); first() is ("index", 0)


def _items_step(op: Op) -> Callable[[list], list]:
    kind, arg = op
    if kind == "member":
        return member_step(arg)  # type: ignore[arg-type]
    if kind == "typed":
        typed = typed_member_fn(None, *arg)  # type: ignore[misc]
        return lambda items: typed(items, None)  # type: ignore[arg-type]
    n = int(arg)  # type: ignore[call-overload]

    def pick(items: list) -> list:
        return [items[n]] if 0 <= n < len(items) else []

    return pick


def path_fn(base: Fn | None, ops: list[Op]) -> Fn:
    """A fused chain of member steps, first() and [n] after `base` (or the focus).

    From a single item it walks dicts and picks list elements without building collections,
    until a repeating element is followed by a member step; from there it goes item by item.
    """
    steps = [_items_step(op) for op in ops]
    count = len(ops)

    def from_focus(focus: list, env: Env) -> list:
        if len(focus) != 1:
            items = focus
            for step in steps:
                if not items:
                    return items
                items = step(items)
            return items
        value = focus[0]
        i = 0
        while i < count:
            kind, arg = ops[i]
            if kind == "typed":
                break
            if kind == "index":
                if type(value) is list:
                    present = [v for v in value if v is not None] if None in value else value
                    if not 0 <= arg < len(present):  # type: ignore[operator]
                        return []
                    value = present[arg]  # type: ignore[index]
                elif arg != 0:
                    return []
            elif type(value) is dict:
                found = value.get(arg)  # type: ignore[call-overload]
                if found is None:
                    found = choice_value(value, arg)  # type: ignore[arg-type]
                    if found is None:
                        return []
                value = found
            else:
                break  # a list meets a member step (or a primitive has no children)
            i += 1
        if type(value) is list:
            items = [v for v in value if v is not None] if None in value else value
        elif i < count and ops[i][0] != "typed":
            return []
        elif i < count:
            items = [value]
        else:
            return [value]
        for step in steps[i:]:
            if not items:
                return items
            items = step(items)
        return items

    fast = _generated_walk(ops, from_focus)
    if base is None:
        return fast

    def chained(focus: list, env: Env) -> list:
        return fast(base(focus, env), env)

    return chained


def _generated_walk(ops: list[Op], general: Fn) -> Fn:
    """Straight-line Python for the usual case of a path (one item, dicts, first elements, no
    choice lookups); anything unusual defers to `general`, which defines the semantics."""
    lines = [
        "def walk(focus, env):",
        "    if len(focus) != 1:",
        "        return general(focus, env)",
        "    v = focus[0]",
    ]
    for kind, arg in ops:
        if kind == "member":
            lines += [
                "    if type(v) is not dict:",
                "        return general(focus, env)",
                f"    v = v.get({arg!r})",
                "    if v is None:",
                "        return []" if arg in PLAIN_NAMES else "        return general(focus, env)",
            ]
        elif kind == "typed":
            name, type_name = arg  # type: ignore[misc]
            key = name + type_name[0].upper() + type_name[1:]
            lines += [
                "    if type(v) is not dict:",
                "        return general(focus, env)",
                f"    w = v.get({key!r})",
                "    if w is None:",
                f"        return [] if v.get({name!r}) is None else general(focus, env)",
                "    v = w",
            ]
        elif arg == 0:
            lines += [
                "    if type(v) is list:",
                "        if not v or v[0] is None:",
                "            return general(focus, env)",
                "        v = v[0]",
            ]
        else:
            lines += ["    return general(focus, env)"]
            break
    else:
        lines += [
            "    if type(v) is list:",
            "        return general(focus, env) if None in v else v",
            "    return [v]",
        ]
    namespace: dict[str, object] = {"general": general}
    exec("\n".join(lines), namespace)
    return namespace["walk"]  # type: ignore[return-value]


def typed_member_fn(base: Fn | None, name: str, type_name: str) -> Fn:
    """`name.ofType(T)`: the choice element `nameT`, or `name` itself when its value is of type T."""
    bare = normalize_type_name(type_name)
    key = name + bare[0].upper() + bare[1:]

    def fn(focus: list, env: Env) -> list:
        items = base(focus, env) if base is not None else focus
        out: list = []
        for item in items:
            if type(item) is not dict:
                continue
            value = item.get(key)
            if value is not None:
                _extend(out, value)
                continue
            value = item.get(name)
            if value is not None:
                for v in value if type(value) is list else [value]:
                    if v is not None and type_matches(v, bare):
                        out.append(v)
        return out

    return fn


class Compiler:
    """Compiles expressions against a fixed set of constants."""

    def __init__(self, constants: Mapping[str, object] | None = None, resource_type: str | None = None) -> None:
        self.constants = dict(constants or {})
        self.resource_type = resource_type
        self.focus_type: str | None = resource_type  # FHIR type of $this, for static typing

    def compile_text(self, text: str, focus_type: str | None = None) -> Compiled:
        """Compile with `focus_type` as the static type of the input (default: the resource type)."""
        with self.focused(focus_type or self.resource_type):
            return self.compile(parse(text))

    @contextmanager
    def focused(self, focus_type: str | None) -> Iterator[None]:
        """Compile sub-expressions whose input ($this) has static type `focus_type`."""
        saved = self.focus_type
        self.focus_type = focus_type
        try:
            yield
        finally:
            self.focus_type = saved

    def compile(self, node: Node) -> Compiled:
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, Identifier):
            return self._identifier(node.name)
        if isinstance(node, Member):
            return self._path(node)
        if isinstance(node, Call) and node.name == "first" and not node.args:
            return self._path(node)
        if isinstance(node, Index) and isinstance(node.index, Literal) and node.index.kind == "integer":
            return self._path(node)
        if isinstance(node, Variable):
            return self._variable(node.name)
        if isinstance(node, Special):
            return self._special(node.name)
        if isinstance(node, Call):
            from fhirmony.views.fhirpath.functions import build_call

            return build_call(self, node)
        if isinstance(node, Index):
            return self._index(node)
        if isinstance(node, Binary):
            return operators.build_binary(self, node)
        if isinstance(node, Unary):
            return operators.build_unary(self, node)
        if isinstance(node, TypeOp):
            return self._type_op(node)
        raise FhirPathSyntaxError(f"unsupported expression {node!r}")

    def input_of(self, node: Call) -> Compiled:
        """The compiled input collection of a function call (the focus when called bare)."""
        return Compiled(identity) if node.target is None else self.compile(node.target)

    def _identifier(self, name: str) -> Compiled:
        if name[0].isupper():  # a type name at the start of a path: Patient.name

            def resource_filter(focus: list, env: Env) -> list:
                return [i for i in focus if type(i) is dict and i.get("resourceType") == name]

            return Compiled(resource_filter, name)
        return Compiled(path_fn(None, [("member", name)]), _walk(self.focus_type, [name]))

    def _path(self, node: Node) -> Compiled:
        """Member steps, first() and literal [n] fused into one navigation function."""
        ops: list[Op] = []
        target: Node | None = node
        while True:
            if isinstance(target, Member):
                ops.append(("member", target.name))
                target = target.target
            elif isinstance(target, Call) and target.name == "first" and not target.args:
                ops.append(("index", 0))
                target = target.target
            elif isinstance(target, Index) and isinstance(target.index, Literal) and target.index.kind == "integer":
                ops.append(("index", target.index.value))
                target = target.target
            elif (
                isinstance(target, Call)
                and target.name == "ofType"
                and len(target.args) == 1
                and isinstance(target.args[0], Identifier)
                and (isinstance(target.target, Member) or _is_element(target.target))
            ):
                member = target.target
                ops.append(("typed", (member.name, normalize_type_name(checked_type_name(target.args[0].name)))))  # type: ignore[union-attr]
                target = member.target if isinstance(member, Member) else None
                if target is None:
                    break
            else:
                break
        if _is_element(target):
            ops.append(("member", target.name))  # type: ignore[union-attr]
            target = None
        ops.reverse()
        base = None if target is None else self.compile(target)
        return Compiled(path_fn(None if base is None else base.fn, ops), _op_type(self, base, ops))

    def _variable(self, name: str) -> Compiled:
        if name in self.constants:
            value = self.constants[name]
            items = [] if value is None else [value]
            kind = _kind_of(value)
            return Compiled(lambda focus, env: list(items), kind)
        if name == "rowIndex":
            return Compiled(lambda focus, env: [env.row_index], "integer", is_row_index=True)
        if name in {"resource", "context", "rootResource"}:
            return Compiled(lambda focus, env: [] if env.resource is None else [env.resource], self.resource_type)
        if name in BUILTIN_VARIABLES:
            fixed = BUILTIN_VARIABLES[name]
            return Compiled(lambda focus, env: [fixed], "string")
        raise FhirPathSyntaxError(f"undefined variable %{name}")

    def _special(self, name: str) -> Compiled:
        if name == "$this":
            return Compiled(identity, self.focus_type)
        if name == "$index":
            return Compiled(lambda focus, env: [env.index], "integer")
        return Compiled(lambda focus, env: list(env.total))

    def _index(self, node: Index) -> Compiled:
        target = self.compile(node.target)
        index = self.compile(node.index)

        def fn(focus: list, env: Env) -> list:
            items = target.fn(focus, env)
            position = index.fn(focus, env)
            if not position:
                return []
            if len(position) > 1 or type(position[0]) is not int:
                raise EvaluationError("an indexer needs a single integer")
            i = position[0]
            return [items[i]] if 0 <= i < len(items) else []

        return Compiled(fn, target.type)

    def _type_op(self, node: TypeOp) -> Compiled:
        as_of_type = self.compile(Call(node.operand, "ofType", (Identifier(node.type_name),)))
        if node.op == "as":
            return as_of_type
        operand = self.compile(node.operand)

        def is_fn(focus: list, env: Env) -> list:
            items = operand.fn(focus, env)
            if not items:
                return []
            if len(items) > 1:
                raise EvaluationError("'is' needs a single item")
            return [bool(as_of_type.fn(focus, env))]

        return Compiled(is_fn, "boolean")


def _is_element(node: Node | None) -> bool:
    return isinstance(node, Identifier) and not node.name[0].isupper()


def _op_type(compiler: Compiler, base: Compiled | None, ops: list[Op]) -> str | None:
    """The static type after a chain of ops (an ofType fixes it, members follow the model)."""
    kind_now = compiler.focus_type if base is None else base.type
    for kind, arg in ops:
        if kind == "member":
            kind_now = _walk(kind_now, [str(arg)])
        elif kind == "typed":
            kind_now = arg[1]  # type: ignore[index]
    return kind_now


def _walk(type_name: str | None, names: list[str]) -> str | None:
    """The static FHIR type at the end of a member path, or None when the model does not say."""
    from fhirmony.views.model import element

    for name in names:
        found = element(type_name, name)
        if found is None or found[0] == "[x]":
            return None
        type_name = found[0]
    return type_name


def _kind_of(value: object) -> str | None:
    if type(value) is bool:
        return "boolean"
    if type(value) is int:
        return "integer"
    if type(value) in (float, Decimal):
        return "decimal"
    if type(value) is str:
        return "string"
    return None


def _literal(node: Literal) -> Compiled:
    if node.kind == "empty":
        return Compiled(lambda focus, env: [])
    value = node.value
    return Compiled(lambda focus, env: [value], node.kind if node.kind != "Quantity" else "Quantity")


def compile_path(
    text: str, constants: Mapping[str, object] | None = None, resource_type: str | None = None
) -> Compiled:
    """Parse and compile one expression (constants by name, without %) on a resource type."""
    return Compiler(constants, resource_type).compile_text(text)
