"""The quality check catalogue, its Great Expectations runner and the steward report.

    from fhirmony.quality import load_catalogue, run_table_checks, run_release_checks
    results = run_table_checks("observation", table, source_id="de-mii", country="DE",
                               related={"patient": patients, "encounter": encounters})

Great Expectations is imported only when a per-table check runs (its import costs ~5 s).
"""

from fhirmony.quality.catalogue import Catalogue, CatalogueError, load_catalogue
from fhirmony.quality.model import CheckResult, CheckSpec
from fhirmony.quality.release import run_release_checks
from fhirmony.quality.report import write_report
from fhirmony.quality.results import (
    Comparison,
    apply_thresholds,
    compare_results,
    fatal_failures,
    read_results,
    write_results,
)
from fhirmony.quality.runner import run_source_checks, run_table_checks

__all__ = [
    "Catalogue",
    "CatalogueError",
    "CheckResult",
    "CheckSpec",
    "Comparison",
    "apply_thresholds",
    "compare_results",
    "fatal_failures",
    "load_catalogue",
    "read_results",
    "run_release_checks",
    "run_source_checks",
    "run_table_checks",
    "write_report",
    "write_results",
]
