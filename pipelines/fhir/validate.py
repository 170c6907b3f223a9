"""Validation of FHIR R4 resources with `fhir.resources.R4B` (pydantic models of FHIR 4.3.0).

R4B shares R4's resource structure for the resources we harmonize; exact R4 models need pydantic
v1, which conflicts with Dagster. Value sets are not enforced here: the quality checks do that.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

MAX_PROBLEMS = 5


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def validation_problem(resource: dict[str, Any]) -> str | None:
    """None when the resource is valid FHIR R4; otherwise a message naming each field at fault."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "invalid FHIR: no resourceType"
    try:
        model = _model(resource_type)
    except (ValueError, KeyError):
        return f"invalid FHIR: unknown resourceType {resource_type!r}"
    if not resource.get("id"):
        return f"invalid FHIR: {resource_type}.id: a resource id is required to harmonize"
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return "invalid FHIR: " + describe_errors(resource_type, error)
    except (ValueError, TypeError) as error:
        return f"invalid FHIR: {resource_type}: {error}"
    return None


def describe_errors(resource_type: str, error: ValidationError) -> str:
    """`Encounter.class: Field required; Encounter.period.start: invalid datetime` (first few)."""
    problems = []
    for item in error.errors()[:MAX_PROBLEMS]:
        location = ".".join(str(part) for part in item["loc"] if part != "__root__")
        path = f"{resource_type}.{location}" if location else resource_type
        problems.append(f"{path}: {item['msg']}")
    more = error.error_count() - MAX_PROBLEMS
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
