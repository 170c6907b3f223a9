"""Errors raised while loading or evaluating ViewDefinitions."""

from __future__ import annotations

from dataclasses import dataclass


class ViewDefinitionError(ValueError):
    """An invalid ViewDefinition; the message names the offending element (e.g. `select[0].column[1].path`)."""


class FhirPathSyntaxError(ValueError):
    """A FHIRPath expression that does not parse or uses an unknown function."""


class EvaluationError(ValueError):
    """A resource the view cannot evaluate (e.g. several values in a non-collection column)."""


@dataclass(frozen=True)
class ViewError:
    """One resource that a view could not evaluate: where it came from and why."""

    file: str
    line: int
    reason: str
