"""SQL-on-FHIR v2 ViewDefinition engine: validate and compile views once, evaluate them to Arrow."""

from fhirmony.views.compiled import CompiledView, ViewBatch, load_view, load_views
from fhirmony.views.errors import EvaluationError, ViewDefinitionError, ViewError

__all__ = [
    "CompiledView",
    "EvaluationError",
    "ViewBatch",
    "ViewDefinitionError",
    "ViewError",
    "load_view",
    "load_views",
]
