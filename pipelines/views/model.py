"""The FHIR R4 element model (type and cardinality of every element), for type inference and SQL compilation.

`fhir_r4_model.json` is generated from the fhir.resources R4B pydantic models by
`python -m fhirmony.views.model` and committed; loading it needs no model import at run time.
Entries: {TypeName: {element: [type, is_array]}}; choice elements appear once per type
(`valueQuantity`) and under their base name as {"value": ["[x]", false]}.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import typing
from functools import cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("fhir_r4_model.json")


@cache
def model() -> dict[str, dict[str, list]]:
    """The element table (empty when the generated file is absent)."""
    if not MODEL_PATH.exists():
        return {}
    return json.loads(MODEL_PATH.read_text())


def element(type_name: str | None, name: str) -> tuple[str, bool] | None:
    """(type, is_array) of `type_name.name`, or None when unknown."""
    if not type_name:
        return None
    entry = model().get(type_name, {}).get(name)
    return (entry[0], bool(entry[1])) if entry else None


def choice_types(type_name: str | None, name: str) -> dict[str, str]:
    """{TypeSuffix: json key} of a choice element (`value` -> {"Quantity": "valueQuantity", ...})."""
    table = model().get(type_name or "", {})
    if table.get(name, [None])[0] != "[x]":
        return {}
    size = len(name)
    return {k[size:]: k for k in table if k.startswith(name) and len(k) > size and k[size].isupper()}


# Type names a view may name in ofType()/is/as that the R4B table lacks: R5 resources and data types,
# and the profiled quantities. A name outside the table and this list is an error (a typo such as
# `ofType(Invalid)` would otherwise silently select nothing).
EXTRA_TYPE_NAMES = frozenset(
    {
        "ActorDefinition", "ArtifactAssessment", "BiologicallyDerivedProductDispense", "ConditionDefinition",
        "DeviceAssociation", "DeviceDispense", "DeviceUsage", "EncounterHistory", "FormularyItem",
        "GenomicStudy", "ImagingSelection", "InventoryItem", "InventoryReport", "NutritionIntake",
        "Permission", "Requirements", "TestPlan", "TestScript", "Transport", "ViewDefinition",
        "Availability", "ExtendedContactDetail", "VirtualServiceDetail", "MonetaryComponent",
        "SimpleQuantity", "MoneyQuantity", "Base", "PrimitiveType", "DataType", "BackboneType",
        "CanonicalResource", "MetadataResource",
    }
)  # fmt: skip


def is_known_type(name: str) -> bool:
    """Whether `name` (a bare FHIR type name) is a resource or complex type the model knows of.

    Primitive type names are the caller's to accept; without a generated table every name passes."""
    table = model()
    return not table or name in table or name in EXTRA_TYPE_NAMES


# ---------------------------------------------------------------- generation (development only)
def _type_of(annotation: object) -> tuple[str, bool]:
    is_array = False
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            annotation = next(a for a in args if a is not type(None))
            continue
        if origin in (list, typing.List):  # noqa: UP006
            is_array = True
            annotation = args[0]
            continue
        if origin is typing.Annotated:
            marker = args[1]
            name = type(marker).__name__
            return name[0].lower() + name[1:], is_array
        break
    name = getattr(annotation, "__name__", str(annotation))
    if name.endswith("Type"):
        name = name[: -len("Type")]
    return name, is_array


def build() -> dict[str, dict[str, list]]:
    """Walk every fhir.resources.R4B model class into the element table."""
    import fhir.resources.R4B as package
    from pydantic import BaseModel

    table: dict[str, dict[str, list]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(("fhirtypes", "tests", "fhirprimitive")):
            continue
        try:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
        except Exception:
            continue
        for attr in dir(module):
            cls = getattr(module, attr)
            if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls.__module__ != module.__name__:
                continue
            elements: dict[str, list] = {}
            for field in cls.model_fields.values():
                extra = field.json_schema_extra or {}
                if not isinstance(extra, dict) or not extra.get("element_property"):
                    continue
                key = field.alias or ""
                kind, is_array = _type_of(field.annotation)
                elements[key] = [kind, is_array]
                if extra.get("one_of_many"):
                    elements[str(extra["one_of_many"])] = ["[x]", False]
            table[cls.__name__] = elements
    return table


if __name__ == "__main__":
    MODEL_PATH.write_text(json.dumps(build(), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size} bytes)")
