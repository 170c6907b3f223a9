"""The quality stage: the check catalogue over one source's deidentified table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from fhirmony.config import SourceConfig
from fhirmony.home import Home
from fhirmony.privacy import Profile
from fhirmony.quality import CheckResult, run_table_checks
from fhirmony.quality.runner import related_tables
from fhirmony.stages.deidentified import STAGE as DEIDENTIFIED

STAGE = "quality"


def run_quality(source: SourceConfig, home: Home, table: str, profile: Profile) -> list[CheckResult]:
    """Run the catalogue on `deidentified/<source>/<table>`, with the other tables its cross-table
    checks read (only those are loaded); results go to `stages/quality/<source>/<table>.json`.

    Dates were shifted by up to the profile's maximum, so "future" allows that much slack."""
    folder = home.stage(DEIDENTIFIED, source.id)
    wanted = {table} | related_tables(table)
    related = {path.stem: pq.read_table(path) for path in sorted(folder.glob("*.parquet")) if path.stem in wanted}
    shift = profile.max_shift_days if profile.dates == "shift" else 0
    results = run_table_checks(
        table, related[table], source_id=source.id, country=source.country, related=related, date_shift_days=shift
    )
    out = home.stage(STAGE, source.id)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{table}.json").write_bytes(orjson.dumps([r.to_dict() for r in results], option=orjson.OPT_INDENT_2))
    return results


def stored_results(home: Home, source_id: str) -> list[dict[str, Any]]:
    """Every stored check result of a source (all tables)."""
    folder: Path = home.stage(STAGE, source_id)
    results: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        results.extend(orjson.loads(path.read_bytes()))
    return results
