"""FHIR XML element → FHIR JSON dict, with the element cardinalities and primitive types read from the
fhir.resources R4B models (one schema per type, built once). No pydantic validation here: the fhir
stage validates every resource afterwards, so XML costs no more than JSON to validate."""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt"})

# kind of an element: "primitive", "xhtml", "resource" or "complex"; for complex, the FHIR type name
Element = tuple[bool, str, str]  # (repeats, kind, FHIR type)


def local_name(element: Any) -> str:
    """`{http://hl7.org/fhir}Patient` → `Patient` (comments and processing instructions → "")."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def namespace(element: Any) -> str:
    tag = element.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


@cache
def _prefix() -> str:
    import fhir.resources.R4B.fhirtypes  # noqa: F401  (registers the R4B types)
    from fhir_core.utils import determine_version_prefix

    return determine_version_prefix("fhir.resources.R4B")


@cache
def schema(type_name: str) -> dict[str, Element]:
    """Element name (as in XML and JSON) → (repeats, kind, type) for one FHIR resource or data type."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir_core.utils import get_fhir_type_name, is_list_type, is_primitive_type

    model = get_fhir_model_class(type_name)
    elements: dict[str, Element] = {}
    for alias, field_name in model.get_alias_mapping().items():
        field = model.model_fields[field_name]
        if field_name.endswith("__ext") or field_name in ("fhir_comments", "resource_type"):
            continue
        fhir_type = get_fhir_type_name(field, prefix=_prefix())
        if fhir_type == "xhtml":
            kind = "xhtml"
        elif is_primitive_type(field):
            kind = "primitive"
        elif fhir_type == "Resource":
            kind = "resource"
        else:
            kind = "complex"
        elements[alias] = (bool(is_list_type(field)), kind, fhir_type)
    return elements


def resource_json(element: Any) -> dict[str, Any]:
    """A FHIR resource element → its JSON dict; ValueError names the first element that is not FHIR."""
    resource_type = local_name(element)
    if namespace(element) != FHIR_NS:
        raise ValueError(f"{resource_type}: not in the FHIR namespace")
    try:
        schema(resource_type)
    except Exception as error:  # fhir.resources: unknown type name
        raise ValueError(f"unknown FHIR resource type {resource_type!r}") from error
    return {"resourceType": resource_type, **_object(element, resource_type, resource_type, is_resource=True)}


def _object(element: Any, type_name: str, path: str, is_resource: bool = False) -> dict[str, Any]:
    elements = schema(type_name)
    out: dict[str, Any] = {}
    if not is_resource:
        for attribute in ("id", "url"):
            value = element.get(attribute)
            if value is not None and attribute in elements:
                out[attribute] = value
    primitive_extras: dict[str, list[Any]] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = local_name(child)
        info = elements.get(name)
        if info is None or namespace(child) != (XHTML_NS if info[1] == "xhtml" else FHIR_NS):
            raise ValueError(f"{path}.{name}: not an element of {type_name}")
        repeats, kind, child_type = info
        extra: dict[str, Any] | None = None
        if kind == "primitive":
            value, extra = _primitive(child, child_type, f"{path}.{name}")
        elif kind == "xhtml":
            value = etree.tostring(child, encoding="unicode", with_tail=False)
        elif kind == "resource":
            inner = next((c for c in child if isinstance(c.tag, str)), None)
            if inner is None:
                raise ValueError(f"{path}.{name}: empty resource element")
            value = resource_json(inner)
        else:
            value = _object(child, child_type, f"{path}.{name}")
        if repeats:
            out.setdefault(name, []).append(value)
            if kind == "primitive":
                primitive_extras.setdefault(name, []).append(extra)
        else:
            if name in out:
                raise ValueError(f"{path}.{name}: repeats, but {type_name}.{name} has at most one")
            out[name] = value
            if extra:
                out[f"_{name}"] = extra
    for name, extras in primitive_extras.items():
        if any(extras):
            out[f"_{name}"] = extras
    return {key: value for key, value in out.items() if value is not None or key.startswith("_")}


def _primitive(element: Any, type_name: str, path: str) -> tuple[Any, dict[str, Any] | None]:
    raw = element.get("value")
    value: Any = raw
    if raw is not None:
        if type_name == "boolean":
            if raw not in ("true", "false"):
                raise ValueError(f"{path}: {raw!r} is not a boolean")
            value = raw == "true"
        elif type_name in INTEGERS:
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{path}: {raw!r} is not an integer") from None
        elif type_name == "decimal":
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(f"{path}: {raw!r} is not a decimal") from None
            value = int(raw) if raw.lstrip("+-").isdigit() else number
    extra: dict[str, Any] = {}
    if element.get("id") is not None:
        extra["id"] = element.get("id")
    extensions = [
        _object(child, "Extension", f"{path}.extension")
        for child in element
        if isinstance(child.tag, str) and local_name(child) == "extension"
    ]
    if extensions:
        extra["extension"] = extensions
    return value, extra or None
