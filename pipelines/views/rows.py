"""Turn a compiled ViewSpec into a row producer: resource -> list of row tuples (column order).

Flat views (no forEach/forEachOrNull/repeat/unionAll anywhere) take a fast path: one tuple per
resource, built from a flat list of column closures.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import product

from fhirmony.views.definition import ColumnSpec, SelectSpec, ViewSpec
from fhirmony.views.errors import EvaluationError
from fhirmony.views.fhirpath.compiler import Env

Row = tuple
RowsFn = Callable[[object, Env], list[Row]]


def output_value(value: object) -> object:
    """Normalize one evaluated item for output (Decimal -> float)."""
    if type(value) is Decimal:
        return float(value)
    return value


def _column_value(column: ColumnSpec) -> Callable[[list, Env], object]:
    fn = column.compiled.fn
    name = column.name
    if column.collection:

        def collect(focus: list, env: Env) -> object:
            return [output_value(v) for v in fn(focus, env)]

        return collect

    def one(focus: list, env: Env) -> object:
        items = fn(focus, env)
        if not items:
            return None
        if len(items) > 1:
            raise EvaluationError(f"column {name!r}: {len(items)} values but the column is not a collection")
        value = items[0]
        return float(value) if type(value) is Decimal else value

    return one


def _select_rows(spec: SelectSpec) -> RowsFn:
    values = [_column_value(c) for c in spec.columns]
    children = [_select_rows(s) for s in spec.selects]
    branches = [_select_rows(u) for u in spec.union_all]
    null_row = tuple(0 if c.is_row_index else None for c in spec.all_columns())
    iterate = spec.iterate.fn if spec.iterate is not None else None
    repeats = [r.fn for r in spec.repeat]
    iterating = iterate is not None or bool(repeats)
    or_null = spec.or_null

    def at(node: object, env: Env) -> list[Row]:
        focus = [node]
        parts: list[list[Row]] = [[tuple(v(focus, env) for v in values)]] if values else []
        for child in children:
            rows = child(node, env)
            if not rows:
                return []
            parts.append(rows)
        if branches:
            union_rows: list[Row] = []
            for branch in branches:
                union_rows.extend(branch(node, env))
            if not union_rows:
                return []
            parts.append(union_rows)
        if len(parts) == 1:
            return parts[0]
        if all(len(p) == 1 for p in parts):
            return [sum((p[0] for p in parts), ())]
        return [sum(combo, ()) for combo in product(*parts)]

    def traverse(node: object, env: Env) -> list:
        found: list = []
        pending = [node]
        while pending:  # depth-first, pre-order, children in document order
            current = pending.pop()
            children_found: list = []
            for path in repeats:
                children_found.extend(path([current], env))
            for child in reversed(children_found):
                pending.append(child)
            if current is not node:
                found.append(current)
        return found

    def rows(node: object, env: Env) -> list[Row]:
        if not iterating:
            return at(node, env)
        foci = traverse(node, env) if repeats else iterate([node], env)  # type: ignore[misc]
        saved = env.row_index
        out: list[Row] = []
        for i, item in enumerate(foci):
            env.row_index = i
            out.extend(at(item, env))
        env.row_index = saved
        if not foci and or_null:
            out.append(null_row)
        return out

    return rows


def row_producer(view: ViewSpec) -> Callable[[dict, Env], list[Row]]:
    """resource -> rows (after the resource type and `where` checks)."""
    resource_type = view.resource
    wheres = [(w.fn, w.type == "boolean") for w in view.where]
    root = view.root

    def passes(resource: dict, env: Env) -> bool:
        """Every `where` path yields exactly true; empty filters the resource out, and so does a
        non-boolean value in an element the model types as boolean (as the SQL path reads it). Any
        other non-boolean value (e.g. `name.family`) is an error: the path is not a condition."""
        focus = [resource]
        for where, typed_boolean in wheres:
            result = where(focus, env)
            if len(result) > 1:
                raise EvaluationError(f"a where path gave {len(result)} values instead of one boolean")
            if result and type(result[0]) is not bool and not typed_boolean:
                raise EvaluationError(f"a where path gave a {type(result[0]).__name__} instead of a boolean")
            if not result or result[0] is not True:
                return False
        return True

    if root.is_flat:
        values = [_column_value(c) for c in view.columns]

        def flat(resource: dict, env: Env) -> list[Row]:
            if resource.get("resourceType") != resource_type or (wheres and not passes(resource, env)):
                return []
            focus = [resource]
            return [tuple([v(focus, env) for v in values])]

        return flat

    produce = _select_rows(root)

    def nested(resource: dict, env: Env) -> list[Row]:
        if resource.get("resourceType") != resource_type or (wheres and not passes(resource, env)):
            return []
        return produce(resource, env)

    return nested
