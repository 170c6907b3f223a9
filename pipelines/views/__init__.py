"""SQL-on-FHIR v2 ViewDefinition engine: validate and compile views once, evaluate them to Arrow."""

from fhirmony.views.compiled import CompiledView, ViewBatch, default_views_dir, load_view, load_views
from fhirmony.views.errors import EvaluationError, ViewDefinitionError, ViewError

__all__ = [
    "CompiledView",
    "EvaluationError",
    "ViewBatch",
    "ViewDefinitionError",
    "ViewError",
    "default_views_dir",
    "load_view",
    "load_views",
]
