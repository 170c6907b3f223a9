"""The harmonized model as data: ViewDefinitions, source mappings and concept maps."""

from pathlib import Path

SCHEMAS_DIR = Path(__file__).parent
VIEWS_DIR = SCHEMAS_DIR / "views"
