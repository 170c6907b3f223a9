"""A small synthetic release (three countries, planted defects) for the report screenshot and
the browser test: data/, manifest.json, quality/quarantine.json, results.json and report.html."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.quality.catalogue import Catalogue
from fhirmony.quality.model import CheckResult
from fhirmony.quality.release import run_release_checks
from fhirmony.quality.report import write_report
from fhirmony.quality.results import write_results
from fhirmony.quality.runner import default_catalogue, run_table_checks

SOURCES = (("de-registry", "DE", 0.02), ("fr-ehr", "FR", 0.05), ("us-synthea", "US", 0.0))
UTC = pa.timestamp("us", tz="UTC")


def _tables(source: str, country: str, defects: float, catalogue: Catalogue, seed: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    n_pat, n_obs = 40, 600
    pids = np.array([f"{country.lower()}-p{i}" for i in range(n_pat)], dtype=object)
    births = np.datetime64("1940-01-01", "D") + rng.integers(0, 60 * 365, n_pat).astype("timedelta64[D]")
    gender = np.where(rng.random(n_pat) < 0.5, "male", "female").astype(object)
    gender[rng.random(n_pat) < defects] = None
    split = np.array(["train", "validation", "test"], dtype=object)[rng.integers(0, 3, n_pat)]
    common = {"source_id": source, "country": country}
    patient = pa.table(
        {
            "id": pids,
            "patient_id": pids,
            "gender": pa.array(gender, pa.string()),
            "birth_date": pa.array(births, pa.date32()),
            "deceased_date": pa.nulls(n_pat, UTC),
            "split": split,
        }
    )
    eids = np.array([f"{country.lower()}-e{i}" for i in range(n_pat)], dtype=object)
    start = np.datetime64("2018-01-01T00:00:00", "us")
    encounter = pa.table(
        {
            "id": eids,
            "patient_id": pids,
            "status": np.full(n_pat, "finished", dtype=object),
            "class_code": np.full(n_pat, "AMB", dtype=object),
            "period_start": pa.array(np.full(n_pat, start), UTC),
            "period_end": pa.array(np.full(n_pat, start + np.timedelta64(5 * 365, "D")), UTC),
            "split": split,
        }
    )
    labs = [lab for lab in catalogue.labs if lab.get("key")]
    which = rng.integers(0, len(labs), n_obs)
    low = np.array([float(lab["low"]) for lab in labs])[which]
    high = np.array([float(lab["high"]) for lab in labs])[which]
    centre = low + (high - low) * (0.05 + 0.02 * (ord(country[0]) % 5))
    values = np.abs(rng.normal(centre, (high - low) * 0.02))
    broken = rng.random(n_obs) < defects
    values[broken] = high[broken] * 2
    units = np.array([lab["unit"] for lab in labs], dtype=object)[which]
    units[rng.random(n_obs) < defects] = "mcg"
    who = rng.integers(0, n_pat, n_obs)
    when = start + (rng.integers(0, 4 * 365 * 86400, n_obs) * 1_000_000).astype("timedelta64[us]")
    observation = pa.table(
        {
            "id": [f"{country.lower()}-o{i}" for i in range(n_obs)],
            "patient_id": pids[who],
            "encounter_id": eids[who],
            "status": np.where(rng.random(n_obs) < defects, "bogus", "final").astype(object),
            "category": np.full(n_obs, "laboratory", dtype=object),
            "code": np.array([str(lab["code"]) for lab in labs], dtype=object)[which],
            "code_system": np.full(n_obs, "http://loinc.org", dtype=object),
            "value_quantity": values,
            "value_unit_code": pa.array(units, pa.string()),
            "effective_date": pa.array(when, UTC),
            "split": split[who],
        }
    )
    out = {"patient": patient, "encounter": encounter, "observation": observation}
    return {
        name: t.append_column("source_id", pa.array([common["source_id"]] * len(t))).append_column(
            "country", pa.array([common["country"]] * len(t))
        )
        for name, t in out.items()
    }


def _release(folder: Path, seed: int, catalogue: Catalogue) -> list[CheckResult]:
    results: list[CheckResult] = []
    sources = []
    for i, (source, country, defects) in enumerate(SOURCES):
        tables = _tables(source, country, defects * (1 + seed), catalogue, seed * 10 + i)
        related = {"patient": tables["patient"], "encounter": tables["encounter"]}
        for name, table in tables.items():
            results += run_table_checks(name, table, source_id=source, country=country, related=related)
            part = folder / "data" / name / f"country={country}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.drop_columns(["country"]), part / f"part-{source}.parquet")
        quarantined = {"invalid date": 3 + seed + i, "unknown code system": 2 * i} if defects else {}
        coverage = {"codes_mapped_share": round(1 - defects, 3), "unit_conversions": 40 * (i + 1)}
        entry = {"id": source, "country": country, "format": "synthetic", "quarantined": quarantined}
        sources.append({**entry, "mapping_coverage": coverage})
    results += run_release_checks(folder / "data", catalogue=catalogue)
    manifest = {"id": folder.name, "created": dt.datetime.now(dt.UTC).isoformat(), "sources": sources}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    details = [
        {
            "source_id": "fr-ehr",
            "stage": "fhir",
            "resource_type": "Observation",
            "reason": "valueQuantity.value: not a number",
            "count": 4,
        }
    ]
    (folder / "quality").mkdir(parents=True, exist_ok=True)
    (folder / "quality" / "quarantine.json").write_text(json.dumps(details))
    write_results(folder, results)
    return results


def build_sample_release(root: Path) -> Path:
    """Build `root/sample-1` (previous) and `root/sample-2` (current, with its report); returns the latter."""
    catalogue = default_catalogue()
    previous, current = Path(root) / "sample-1", Path(root) / "sample-2"
    _release(previous, 0, catalogue)
    _release(current, 1, catalogue)
    write_report(current, previous, catalogue=catalogue)
    return current
