"""Release-level k-anonymity: measured over all sources' partitions, suppression rewrites every table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fhirmony.privacy import k_anonymity_report, load_profile, read_table

TODAY = dt.date(2026, 11, 27)


def write(data: Path, table: str, country: str, source: str, columns: dict) -> None:
    folder = data / table / f"country={country}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), folder / f"part-{source}.parquet", compression="zstd")


def release_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    de = [f"de{i}" for i in range(6)]
    us = [f"us{i}" for i in range(2)]
    born = pa.array([dt.date(1980, 1, 1)] * 6, pa.date32())
    write(data, "patient", "DE", "de-mii", {"id": de, "patient_id": de, "gender": ["female"] * 6, "birth_date": born,
                                            "address_state": ["Berlin"] * 6, "country": ["DE"] * 6})  # fmt: skip
    # the US partition has no country column in its files: it comes from the path
    write(data, "patient", "US", "us-syn", {"id": us, "patient_id": us, "gender": ["male", "female"],
                                            "birth_date": pa.array([dt.date(1930, 5, 1)] * 2, pa.date32()),
                                            "address_state": ["MA", "MA"]})  # fmt: skip
    patients = de + us
    write(data, "condition", "DE", "de-mii", {"id": [f"c{p}" for p in de], "patient_id": de,
                                              "code": ["I10", "E11", "I10", "J45", "I10", "E11"]})  # fmt: skip
    write(data, "condition", "US", "us-syn", {"id": ["cu0", "cu1"], "patient_id": us, "code": ["I10", "I10"]})
    write(data, "organization", "DE", "de-mii", {"id": ["o1"], "name": ["Klinikum"]})
    assert len(patients) == 8
    return data


def test_measures_over_all_sources_without_suppression(tmp_path: Path) -> None:
    data = release_data(tmp_path)
    report = k_anonymity_report(data, load_profile("gdpr-pseudonymised"), today=TODAY)
    risk = report["risk"]
    assert report["profile"] == "gdpr-pseudonymised" and report["steps"]
    assert risk["patients"] == 8 and risk["classes"] == 3 and risk["k"] == 1
    assert risk["patients_below_k"] == 2 and risk["suppression"] == {"enabled": False, "patients_suppressed": 0}
    l_div = {"attribute": "condition.code", "l": 1, "classes_with_l_below_2": 2, "classes_without_values": 0}
    assert risk["l_diversity"] == l_div
    assert read_table(data, "patient").num_rows == 8


def test_suppression_removes_small_classes_from_every_table(tmp_path: Path) -> None:
    data = release_data(tmp_path)
    report = k_anonymity_report(data, load_profile("safe-harbor"), k=3, today=TODAY)
    risk = report["risk"]
    assert risk["suppression"] == {
        "enabled": True,
        "patients_suppressed": 2,
        "rows_removed": {"condition": 2, "patient": 2},
    }
    assert risk["after_suppression"] == {"patients": 6, "classes": 1, "k": 6, "classes_below_k": 0}
    assert set(read_table(data, "patient").column("id").to_pylist()) == {f"de{i}" for i in range(6)}
    assert read_table(data, "condition").num_rows == 6
    assert read_table(data, "organization").num_rows == 1


def test_no_patient_table_is_reported_not_failed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "organization", "DE", "x", {"id": ["o"]})
    assert "not measured" in k_anonymity_report(data, load_profile("safe-harbor"))["risk"]["note"]
