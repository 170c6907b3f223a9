"""fhirmony.api: load (partition pruning, split filter), describe and diff over hand-built releases.

`make_release` is reused by the datasheet and Croissant tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fhirmony.api import describe, diff, load, release_path
from fhirmony.privacy import (
    column_plan,
    deidentify_table,
    load_profile,
    measure_risk,
    privacy_report,
)

KEY = b"release-fixture-key-0123456789"
SOURCES = [
    {"id": "de-mii", "country": "DE", "format": "fhir-bundle", "licence": "CC0-1.0", "name": "MII KDS test data"},
    {"id": "us-mimic", "country": "US", "format": "mimic-iv", "licence": "ODbL-1.0", "name": "MIMIC-IV demo"},
]
TS = pa.timestamp("us", tz="UTC")


def harmonized(source: dict[str, str], n: int) -> dict[str, pa.Table]:
    """Small harmonized tables for one source: n patients, two encounters and one observation each."""
    sid, country = source["id"], source["country"]
    pids = [f"{sid}-p{i}" for i in range(n)]
    patient = pa.table(
        {
            "id": pids,
            "patient_id": pids,
            "gender": ["female" if i % 2 else "male" for i in range(n)],
            "birth_date": pa.array([dt.date(1950 + 7 * i, 1 + i % 12, 1 + i) for i in range(n)], pa.date32()),
            "name_family": [f"Family{i}" for i in range(n)],
            "address_state": ["Berlin" if country == "DE" else "MA"] * n,
            "source_id": [sid] * n,
            "country": [country] * n,
        }
    )
    enc_p = [p for p in pids for _ in range(2)]
    start = [dt.datetime(2020, 1, 1 + i % 28, 8, tzinfo=dt.UTC) for i in range(len(enc_p))]
    encounter = pa.table(
        {
            "id": [f"{sid}-e{i}" for i in range(len(enc_p))],
            "patient_id": enc_p,
            "class_code": ["AMB", "IMP"] * n,
            "period_start": pa.array(start, TS),
            "period_end": pa.array([s + dt.timedelta(hours=5) for s in start], TS),
            "source_id": [sid] * len(enc_p),
            "country": [country] * len(enc_p),
        }
    )
    observation = pa.table(
        {
            "id": [f"{sid}-o{i}" for i in range(n)],
            "patient_id": pids,
            "code": ["2339-0"] * n,
            "code_system": ["http://loinc.org"] * n,
            "value_quantity": [5.0 + i for i in range(n)],
            "value_unit": ["mmol/L" if i % 3 else None for i in range(n)],
            "effective_date": pa.array([dt.datetime(2021, 2, 1, tzinfo=dt.UTC)] * n, TS),
            "source_id": [sid] * n,
            "country": [country] * n,
        }
    )
    condition = pa.table(
        {
            "id": [f"{sid}-c{i}" for i in range(n)],
            "patient_id": pids,
            "code": ["I10", "E11.9"] * (n // 2) + ["I10"] * (n % 2),
            "code_system": ["http://hl7.org/fhir/sid/icd-10-cm"] * n,
            "onset_date": pa.array([dt.date(2019, 5, 1)] * n, pa.date32()),
            "source_id": [sid] * n,
            "country": [country] * n,
        }
    )
    return {"patient": patient, "encounter": encounter, "observation": observation, "condition": condition}


def make_release(
    folder: Path, sizes: dict[str, int] | None = None, quality: list[dict[str, Any]] | None = None
) -> Path:
    """A release folder as the release writer lays it out, made from the privacy engine's output."""
    sizes = sizes or {"de-mii": 6, "us-mimic": 4}
    profile = load_profile("gdpr-pseudonymised")
    released: dict[str, list[pa.Table]] = {}
    plans: dict[str, dict[str, list[str]]] = {}
    sources = [s for s in SOURCES if s["id"] in sizes]
    for source in sources:
        for name, table in harmonized(source, sizes[source["id"]]).items():
            out = deidentify_table(name, table, profile, KEY, today=dt.date(2026, 11, 27))
            plans[name] = column_plan(name, table.schema, profile)
            target = folder / "data" / name / f"country={source['country']}" / f"part-{source['id']}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(out, target, compression="zstd")
            released.setdefault(name, []).append(out)
    combined = {name: pa.concat_tables(parts) for name, parts in released.items()}
    risk = measure_risk(combined["patient"], profile, sensitive=combined["condition"], today=dt.date(2026, 11, 27))
    (folder / "quality").mkdir(parents=True, exist_ok=True)
    results = (
        quality
        if quality is not None
        else [
            {
                "check": "not_null",
                "table": "patient",
                "field": "gender",
                "source_id": "de-mii",
                "category": "completeness",
                "severity": "fatal",
                "status": "passed",
                "violating": 0,
                "total": 6,
                "threshold": 0,
            },
            {
                "check": "plausible_unit",
                "table": "observation",
                "field": "value_unit",
                "source_id": "us-mimic",
                "category": "plausibility",
                "severity": "convention",
                "status": "failed",
                "violating": 1,
                "total": 4,
                "threshold": 0,
            },
        ]
    )
    (folder / "quality" / "results.json").write_text(json.dumps(results))
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        entry: dict[str, Any] = {
            "path": path.relative_to(folder).as_posix(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
        }
        if path.suffix == ".parquet":
            entry["rows"] = pq.ParquetFile(path).metadata.num_rows
        files.append(entry)
    manifest = {
        "id": folder.name,
        "name": "fhirmony-test",
        "version": "0.1.0",
        "created": "2026-11-27T04:00:00Z",
        "description": "A hand-built test release.",
        "publisher": "fhirmony tests",
        "contact": "steward@example.org",
        "licence": "ODbL-1.0" if "us-mimic" in sizes else "CC0-1.0",
        "attribution": "Contains data from the test sources.",
        "sources": [
            {**s, "counts": {"read": sizes[s["id"]] * 6 + 1, "valid": sizes[s["id"]] * 6, "quarantined": 1}}
            for s in sources
        ],
        "tables": {name: {"rows": t.num_rows} for name, t in combined.items()},
        "privacy": privacy_report(profile, risk.report, plans),
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return make_release(tmp_path / "rel-1")


def test_load_reads_only_the_requested_countries(release: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = pq.read_schema

    def spy(path: Any, *args: Any, **kwargs: Any) -> pa.Schema:
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pq, "read_schema", spy)
    table = load(release, "encounter", countries=["DE"])
    assert table.num_rows == 12
    assert set(table.column("country").to_pylist()) == {"DE"}
    assert opened and all("country=DE" in p for p in opened)


def test_load_filters_splits_and_returns_pandas(release: Path) -> None:
    full = load(release, "encounter")
    assert full.num_rows == 20
    train = load(release, "encounter", split="train")
    assert set(train.column("split").to_pylist()) <= {"train"}
    rest = load(release, "encounter", split=["validation", "test"])
    assert train.num_rows + rest.num_rows == full.num_rows
    frame = load(release, "patient", countries="US", as_pandas=True)
    assert len(frame) == 4 and set(frame["country"]) == {"US"}


def test_load_by_id_under_home_and_clear_errors(release: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "releases").mkdir(parents=True)
    (home / "releases" / "rel-1").symlink_to(release)
    assert load("rel-1", "patient", home=home).num_rows == 10
    with pytest.raises(FileNotFoundError, match="no release"):
        release_path("nope", home)
    with pytest.raises(ValueError, match="has no table 'specimen'"):
        load(release, "specimen")
    with pytest.raises(ValueError, match="countries present: DE, US"):
        load(release, "patient", countries=["FR"])
    with pytest.raises(ValueError, match="unknown split"):
        load(release, "patient", split="dev")


def test_describe_reports_tables_rows_countries_splits_licence(release: Path) -> None:
    info = describe(release)
    assert info["countries"] == ["DE", "US"]
    assert info["licence"] == "ODbL-1.0"
    assert info["tables"]["encounter"]["rows_by_country"] == {"DE": 12, "US": 8}
    assert "name_family" not in {c["name"] for c in info["tables"]["patient"]["columns"]}
    assert sum(info["patients_by_split"].values()) == 10
    assert info["quality"]["by_status"] == {"passed": 1, "failed": 1}
    assert info["privacy_profile"] == "gdpr-pseudonymised"
    assert info["privacy_risk"]["k_threshold"] == 5 and info["privacy_risk"]["k"] >= 1


def test_diff_rows_schema_and_quality(tmp_path: Path) -> None:
    a = make_release(tmp_path / "a", {"de-mii": 6})
    fixed = [
        {
            "check": "plausible_unit",
            "table": "observation",
            "field": "value_unit",
            "source_id": "us-mimic",
            "severity": "convention",
            "status": "passed",
            "violating": 0,
            "total": 4,
        },
        {
            "check": "not_null",
            "table": "patient",
            "field": "gender",
            "source_id": "de-mii",
            "severity": "fatal",
            "status": "failed",
            "violating": 2,
            "total": 6,
        },
    ]
    b = make_release(tmp_path / "b", {"de-mii": 7, "us-mimic": 4}, quality=fixed)
    changes = diff(a, b)
    assert changes["rows"]["patient"]["DE"] == {"a": 6, "b": 7, "change": 1}
    assert changes["rows"]["patient"]["US"] == {"a": 0, "b": 4, "change": 4}
    assert changes["licence"] == {"a": "CC0-1.0", "b": "ODbL-1.0"}
    assert changes["quality"]["newly_failed"] == ["not_null/patient/gender/de-mii"]
    assert changes["quality"]["fixed"] == ["plausible_unit/observation/value_unit/us-mimic"]
    assert changes["schema"] == {}
    pq.write_table(pa.table({"id": ["x"], "extra": [1]}), b / "data" / "patient" / "country=DE" / "part-zz.parquet")
    assert diff(a, b)["schema"]["patient"]["added"] == ["extra"]
