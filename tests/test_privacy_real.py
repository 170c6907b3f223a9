"""Privacy on real source files (../shared/data/synthea-r4-bundles): no identifier survives.

The bundles' file names hold patient names, and the resources carry names, addresses, telecoms,
MRNs, SSNs, driver's licences and passports. They are flattened here by hand into harmonized-style
tables that keep all of that (as a careless mapping would), then every released cell is scanned.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import shared_path

from fhirmony.privacy import deidentify_table, load_profile

KEY = b"real-data-test-key-0123456789"
TS = pa.timestamp("us", tz="UTC")
pytestmark = pytest.mark.shared


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value else None


def _ref(reference: dict[str, Any] | None) -> str | None:
    return reference["reference"].split(":")[-1].split("/")[-1] if reference else None


def flatten(folder: Path) -> tuple[dict[str, list[dict[str, Any]]], set[str], set[str]]:
    """Tables with identifying extras, the identifying strings, and short values to match exactly."""
    rows: dict[str, list[dict[str, Any]]] = {"patient": [], "encounter": [], "condition": []}
    secrets: set[str] = set()
    exact: set[str] = set()
    for path in sorted(folder.glob("*_*_*.json")):  # patient bundles: <Given>_<Family>_<uuid>.json
        secrets.add(path.name)
        secrets.add("_".join(path.stem.split("_")[:2]))
        for entry in json.loads(path.read_text())["entry"]:
            resource = entry["resource"]
            kind = resource["resourceType"]
            common = {"id": resource["id"], "source_id": "us-synthea", "country": "US", "source_file": path.name}
            if kind == "Patient":
                name = resource["name"][0]
                address = resource["address"][0]
                identifiers = [i["value"] for i in resource.get("identifier", [])]
                telecoms = [t["value"] for t in resource.get("telecom", [])]
                secrets.update([resource["id"], *name["given"], name["family"], *address["line"], address["city"]])
                secrets.update(identifiers + telecoms)
                exact.add(address.get("postalCode", ""))
                rows["patient"].append(
                    {
                        **common,
                        "patient_id": resource["id"],
                        "gender": resource["gender"],
                        "birth_date": dt.date.fromisoformat(resource["birthDate"]),
                        "deceased_date": _ts(resource.get("deceasedDateTime")),
                        "name_given": " ".join(name["given"]),
                        "name_family": name["family"],
                        "address_line": ", ".join(address["line"]),
                        "address_city": address["city"],
                        "address_state": address.get("state"),
                        "address_postal_code": address.get("postalCode"),
                        "address_country": address.get("country"),
                        "telecom": "; ".join(telecoms),
                        "identifiers": "; ".join(identifiers),
                        "text_div": resource["text"]["div"],
                    }
                )
            elif kind == "Encounter":
                secrets.add(resource["id"])
                rows["encounter"].append(
                    {
                        **common,
                        "patient_id": _ref(resource.get("subject")),
                        "status": resource["status"],
                        "class_code": resource["class"]["code"],
                        "period_start": _ts(resource["period"].get("start")),
                        "period_end": _ts(resource["period"].get("end")),
                        "service_provider_id": _ref(resource.get("serviceProvider")),
                    }
                )
            elif kind == "Condition":
                secrets.add(resource["id"])
                rows["condition"].append(
                    {
                        **common,
                        "patient_id": _ref(resource.get("subject")),
                        "encounter_id": _ref(resource.get("encounter")),
                        "code": resource["code"]["coding"][0]["code"],
                        "code_text": resource["code"].get("text"),
                        "onset_date": _ts(resource.get("onsetDateTime")),
                        "recorded_date": _ts(resource.get("recordedDate")),
                    }
                )
    secrets.discard("")
    exact.discard("")
    return rows, secrets, exact


def as_table(rows: list[dict[str, Any]]) -> pa.Table:
    table = pa.Table.from_pylist(rows)
    fields = [pa.field(f.name, TS) if pa.types.is_timestamp(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))


@pytest.mark.parametrize("profile_name", ["gdpr-pseudonymised", "safe-harbor"])
def test_no_identifier_from_real_bundles_survives(profile_name: str) -> None:
    rows, secrets, exact = flatten(shared_path("data", "synthea-r4-bundles"))
    assert len(rows["patient"]) == 8 and len(rows["encounter"]) > 50
    profile = load_profile(profile_name)
    for name, table_rows in rows.items():
        source = as_table(table_rows)
        released = deidentify_table(name, source, profile, KEY)
        assert released.num_rows == source.num_rows
        cells = [str(v) for column in released.columns for v in column.to_pylist() if v is not None]
        text = "\n".join(cells + released.column_names + [str(released.schema.metadata)])
        leaked = sorted(s for s in secrets if s in text) + sorted(set(cells) & exact)
        assert not leaked, f"{profile_name}/{name} leaked {leaked[:5]}"
        for column in released.column_names:
            if not pa.types.is_temporal(released.schema.field(column).type) or column == "birth_date":
                continue
            before, after = source.column(column).to_pylist(), released.column(column).to_pylist()
            same = [b for b, a in zip(before, after, strict=True) if b is not None and b == a]
            assert not same, f"{profile_name}/{name}.{column}: {len(same)} dates released unchanged"


def test_real_encounter_intervals_survive_the_shift() -> None:
    rows, _, _ = flatten(shared_path("data", "synthea-r4-bundles"))
    source = as_table(rows["encounter"])
    released = deidentify_table("encounter", source, load_profile("gdpr-pseudonymised"), KEY)
    for b, a in zip(source.to_pylist(), released.to_pylist(), strict=True):
        if b["period_start"] and b["period_end"]:
            assert a["period_end"] - a["period_start"] == b["period_end"] - b["period_start"]
