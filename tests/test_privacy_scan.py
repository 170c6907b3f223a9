"""Scanning whole release folders for the sources' identifying strings."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import shared_path
from test_api import make_release
from test_privacy_real import KEY, as_table, flatten

from fhirmony.privacy import (
    deidentify_table,
    identifying_strings,
    k_anonymity_report,
    load_profile,
    redact_quarantine_summary,
    scan_release,
)
from fhirmony.publish.croissant import write_croissant
from fhirmony.publish.datasheet import write_datasheet

PATIENT = {
    "resourceType": "Patient",
    "id": "pat-4711",
    "identifier": [{"system": "urn:mrn", "value": "MRN-000123"}],
    "name": [{"family": "Brekke496", "given": ["Aaron697", "Jo"], "prefix": ["Mr."]}],
    "telecom": [{"system": "phone", "value": "555-231-0912"}],
    "address": [{"line": ["42 Elm Street"], "city": "Springfield", "postalCode": "02139", "state": "MA"}],
    "contact": [{"name": {"family": "Anaya"}}],
}


def test_identifying_strings_from_resources_and_file_names() -> None:
    found = identifying_strings([PATIENT], ["bundles/Aaron697_Brekke496_1b2c.json"])
    assert {"pat-4711", "MRN-000123", "Brekke496", "Aaron697", "555-231-0912", "42 Elm Street"} <= found
    assert {"Springfield", "02139", "Anaya", "Aaron697_Brekke496_1b2c.json"} <= found
    assert "MA" not in found  # states may be released


def test_clean_release_has_no_leaks_and_planted_ones_are_found(tmp_path: Path) -> None:
    release = make_release(tmp_path / "rel")
    write_datasheet(release, None)
    write_croissant(release)
    forbidden = {f"Family{i}" for i in range(6)} | {f"de-mii-p{i}" for i in range(6)} | {"de-mii-e3", "42 Elm St"}
    assert scan_release(release, forbidden) == []
    assert scan_release(release, {"ODbL-1.0"}) != []
    assert scan_release(release, {"ODbL-1.0"}, ignore={"ODbL-1.0"}) == []
    (release / "quality" / "quarantine.json").write_text(json.dumps([{"file": "x.json", "reason": "Family3 bad"}]))
    part = release / "data" / "patient" / "country=DE" / "extra.parquet"
    pq.write_table(pa.table({"note": ["lives at 42 Elm St, Berlin"], "ref": ["de-mii-e3"]}), part)
    leaks = {(leak.path, leak.where, leak.value) for leak in scan_release(release, forbidden)}
    assert leaks == {
        ("quality/quarantine.json", "text", "Family3"),
        ("data/patient/country=DE/extra.parquet", "note", "42 Elm St"),
        ("data/patient/country=DE/extra.parquet", "ref", "de-mii-e3"),
    }


@pytest.mark.shared
@pytest.mark.parametrize("profile_name", ["gdpr-pseudonymised", "safe-harbor"])
def test_release_made_from_real_bundles_leaks_nothing(tmp_path: Path, profile_name: str) -> None:
    folder = shared_path("data", "synthea-r4-bundles")
    files = sorted(folder.glob("*_*_*.json"))
    resources = [e["resource"] for f in files for e in json.loads(f.read_text())["entry"]]
    forbidden = identifying_strings(resources, [f.name for f in files])
    assert len(forbidden) > 1000
    rows, _, _ = flatten(folder)
    profile = load_profile(profile_name)
    release = tmp_path / "real"
    counts = {}
    for name, table_rows in rows.items():
        out = deidentify_table(name, as_table(table_rows), profile, KEY)
        target = release / "data" / name / "country=US" / "part-us-synthea.parquet"
        target.parent.mkdir(parents=True)
        pq.write_table(out, target)
        counts[name] = out.num_rows
    privacy = k_anonymity_report(release / "data", profile)
    source = {"id": "us-synthea", "country": "US", "format": "fhir-bundle", "licence": "Apache-2.0"}
    manifest = {"id": "real", "version": "0.1.0", "created": "2026-11-27T00:00:00Z", "licence": "Apache-2.0",
                "sources": [source], "privacy": privacy}  # fmt: skip
    (release / "manifest.json").write_text(json.dumps(manifest))
    write_datasheet(release, None)
    write_croissant(release)
    assert scan_release(release, forbidden) == []
    assert counts["encounter"] > 50


def test_quarantine_summary_is_redacted_for_release() -> None:
    summary = {
        "us-synthea": [
            {
                "stage": "fhir",
                "resource_type": "Organization",
                "reason": "duplicate id (conflicting content)",
                "count": 2,
                "samples": [
                    {"file": "hospital.json", "line": 2, "detail": "entry[1]",
                     "reason": "duplicate id: Organization/69 was first read at Hershel_Marvin_71a7.json:56"},
                    {"file": "Hershel_Marvin_71a7.json", "line": 5, "detail": "entry[4]", "reason": "bad"},
                ],
            }
        ]
    }  # fmt: skip
    redacted = redact_quarantine_summary(summary, b"quarantine-key-0123456789")
    text = json.dumps(redacted)
    assert "Hershel" not in text and "hospital.json" not in text and "Organization/69" not in text
    entry = redacted["us-synthea"][0]
    assert entry["count"] == 2 and entry["reason"] == "duplicate id (conflicting content)"
    assert [s["line"] for s in entry["samples"]] == [2, 5]
    tokens = {s["file"] for s in entry["samples"]}
    assert len(tokens) == 2 and all(t.startswith("file-") for t in tokens)
    again = redact_quarantine_summary(summary, b"quarantine-key-0123456789")
    assert again == redacted
