"""FHIRPath operators: boolean logic, equality, ordering, arithmetic, union and membership."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import TYPE_CHECKING

from fhirmony.views.errors import EvaluationError, FhirPathSyntaxError
from fhirmony.views.fhirpath.values import compare, equals, equivalent, is_number, to_decimal

if TYPE_CHECKING:
    from fhirmony.views.fhirpath.compiler import Compiled, Compiler, Env
    from fhirmony.views.fhirpath.parser import Binary, Unary


def to_boolean(items: list) -> bool | None:
    """Singleton evaluation of a collection as a Boolean (empty -> None)."""
    if not items:
        return None
    if len(items) > 1:
        raise EvaluationError("a Boolean operand has more than one item")
    value = items[0]
    return value if type(value) is bool else True


def single(items: list, what: str) -> object:
    if len(items) > 1:
        raise EvaluationError(f"{what} needs a single item, got {len(items)}")
    return items[0]


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _xor(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a != b


def _implies(a: bool | None, b: bool | None) -> bool | None:
    if a is False:
        return True
    if a is True:
        return b
    return True if b is True else None


_LOGIC = {"and": _and, "or": _or, "xor": _xor, "implies": _implies}


def collection_equals(left: list, right: list) -> bool | None:
    if len(left) != len(right):
        return False
    result: bool | None = True
    for a, b in zip(left, right, strict=True):
        same = equals(a, b)
        if same is False:
            return False
        if same is None:
            result = None
    return result


def collection_equivalent(left: list, right: list) -> bool:
    if len(left) != len(right):
        return False
    remaining = list(right)
    for a in left:
        for i, b in enumerate(remaining):
            if equivalent(a, b):
                del remaining[i]
                break
        else:
            return False
    return True


def union(left: list, right: list) -> list:
    out: list = []
    for item in (*left, *right):
        if not any(equals(item, seen) is True for seen in out):
            out.append(item)
    return out


def arithmetic(op: str, a: object, b: object) -> object:
    """+ - * / div mod on numbers, + on strings; None when undefined (e.g. division by zero)."""
    if op == "+" and type(a) is str and type(b) is str:
        return a + b
    if not (is_number(a) and is_number(b)) or type(a) is bool or type(b) is bool:
        same_unit = (
            type(a) is dict and type(b) is dict and (a.get("code") or a.get("unit")) == (b.get("code") or b.get("unit"))
        )
        if same_unit and op in {"+", "-"}:
            result = arithmetic(op, a.get("value"), b.get("value"))  # type: ignore[union-attr]
            return None if result is None else {**a, "value": result}  # type: ignore[dict-item]
        raise EvaluationError(f"operator {op} is not defined for {type(a).__name__} and {type(b).__name__}")
    both_int = type(a) is int and type(b) is int
    try:
        if op in {"+", "-", "*"} and both_int:
            return a + b if op == "+" else (a - b if op == "-" else a * b)  # type: ignore[operator]
        x, y = to_decimal(a), to_decimal(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            return None if y == 0 else x / y
        if op == "div":
            return None if y == 0 else int(x // y)
        if op == "mod":
            if y == 0:
                return None
            result = x % y
            return int(result) if both_int else result
    except (InvalidOperation, DivisionByZero):
        return None
    raise FhirPathSyntaxError(f"unknown operator {op}")


def _result_type(op: str, left: str | None, right: str | None) -> str | None:
    if op in {"=", "!=", "~", "!~", "<", "<=", ">", ">=", "and", "or", "xor", "implies", "in", "contains"}:
        return "boolean"
    if op == "&":
        return "string"
    if op == "|":
        return left if left == right else None
    if op == "/":
        return "decimal"
    if op in {"div"}:
        return "integer"
    if left == right:
        return left
    if {left, right} <= {"integer", "decimal"}:
        return "decimal"
    return None


def build_binary(compiler: Compiler, node: Binary) -> Compiled:
    from fhirmony.views.fhirpath.compiler import Compiled

    left_compiled, right_compiled = compiler.compile(node.left), compiler.compile(node.right)
    left, right = left_compiled.fn, right_compiled.fn
    op = node.op
    result_type = _result_type(op, left_compiled.type, right_compiled.type)
    fn: Callable[[list, Env], list]
    if op in _LOGIC:
        logic = _LOGIC[op]

        def fn(focus: list, env: Env) -> list:
            a = to_boolean(left(focus, env))
            if op == "and" and a is False:
                return [False]
            if op == "or" and a is True:
                return [True]
            value = logic(a, to_boolean(right(focus, env)))
            return [] if value is None else [value]

    elif op in {"=", "!="}:
        negate = op == "!="

        def fn(focus: list, env: Env) -> list:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            value = equals(a[0], b[0]) if len(a) == 1 and len(b) == 1 else collection_equals(a, b)
            if value is None:
                return []
            return [value != negate]

    elif op in {"~", "!~"}:
        negate = op == "!~"

        def fn(focus: list, env: Env) -> list:
            return [collection_equivalent(left(focus, env), right(focus, env)) != negate]

    elif op in {"<", "<=", ">", ">="}:
        test = {"<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0}[op]

        def fn(focus: list, env: Env) -> list:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            order = compare(single(a, op), single(b, op))
            return [] if order is None else [test(order)]

    elif op == "|":

        def fn(focus: list, env: Env) -> list:
            return union(left(focus, env), right(focus, env))

    elif op in {"in", "contains"}:

        def fn(focus: list, env: Env) -> list:
            a, b = left(focus, env), right(focus, env)
            item, pool = (a, b) if op == "in" else (b, a)
            if not item:
                return []
            value = single(item, op)
            return [any(equals(value, other) is True for other in pool)]

    elif op == "&":

        def fn(focus: list, env: Env) -> list:
            a, b = left(focus, env), right(focus, env)
            return [str(single(a, "&") if a else "") + str(single(b, "&") if b else "")]

    elif op in {"+", "-", "*", "/", "div", "mod"}:

        def fn(focus: list, env: Env) -> list:
            a, b = left(focus, env), right(focus, env)
            if not a or not b:
                return []
            value = arithmetic(op, single(a, op), single(b, op))
            return [] if value is None else [value]

    else:
        raise FhirPathSyntaxError(f"unknown operator {op!r}")
    return Compiled(fn, result_type)


def build_unary(compiler: Compiler, node: Unary) -> Compiled:
    from fhirmony.views.fhirpath.compiler import Compiled

    operand = compiler.compile(node.operand)
    if node.op == "+":
        return operand
    inner = operand.fn

    def negate(focus: list, env: Env) -> list:
        items = inner(focus, env)
        if not items:
            return []
        value = single(items, "unary -")
        if not is_number(value) or type(value) is bool:
            raise EvaluationError("unary - needs a number")
        return [-value if type(value) is not float else -Decimal(repr(value))]  # type: ignore[operator]

    return Compiled(negate, operand.type)
