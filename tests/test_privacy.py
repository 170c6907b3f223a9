"""Privacy: nothing identifying survives, intervals hold, pseudonyms are keyed, splits are per patient."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest

from fhirmony.config import PrivacyConfig
from fhirmony.privacy import (
    MissingKeyError,
    apply_suppression,
    assign_split,
    date_offset_days,
    deidentify_table,
    load_key,
    load_profile,
    measure_risk,
    pseudonym,
)

KEY = b"0123456789abcdef-test-key"
OTHER_KEY = b"fedcba9876543210-other-key"
TODAY = dt.date(2026, 11, 27)
UTC = dt.UTC

NAMES = ["Aaron697", "Brekke496", "Zoë Müller"]
ADDRESSES = ["42 Elm Street", "Lindenstraße 7", "Springfield", "02139"]
TELECOMS = ["+1-555-0100", "zoe@example.org"]
FILES = ["Aaron697_Brekke496_1b2c.json", "patients/zoe_mueller.ndjson"]
ORIGINAL_IDS = ["pat-aaron", "pat-zoe", "enc-001", "enc-002", "cond-9"]


def patients() -> pa.Table:
    return pa.table(
        {
            "id": ["pat-aaron", "pat-zoe"],
            "patient_id": ["pat-aaron", "pat-zoe"],
            "name_family": ["Brekke496", "Müller"],
            "name_given": ["Aaron697", "Zoë Müller"],
            "address_line": ["42 Elm Street", "Lindenstraße 7"],
            "city": ["Springfield", "Berlin"],
            "address_postal_code": ["02139", "10115"],
            "telecom": ["+1-555-0100", "zoe@example.org"],
            "gender": ["male", "female"],
            "birth_date": pa.array([dt.date(1961, 7, 14), dt.date(1930, 2, 3)], pa.date32()),
            "address_state": ["Massachusetts", "Berlin"],
            "source_file": FILES,
            "source_id": ["us-synthea", "de-mii"],
            "country": ["US", "DE"],
        }
    )


def encounters() -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "id": ["enc-001", "enc-002"],
            "patient_id": ["pat-aaron", "pat-zoe"],
            "period_start": pa.array(
                [dt.datetime(2020, 3, 1, 8, 30, tzinfo=UTC), dt.datetime(2021, 5, 2, 23, 0, tzinfo=UTC)], ts
            ),
            "period_end": pa.array(
                [dt.datetime(2020, 3, 4, 12, 0, tzinfo=UTC), dt.datetime(2021, 5, 3, 1, 15, tzinfo=UTC)], ts
            ),
            "class_code": ["AMB", "IMP"],
            "reason_text": ["Aaron697 complained of pain at 42 Elm Street", "call +1-555-0100"],
            "source_id": ["us-synthea", "de-mii"],
            "country": ["US", "DE"],
        }
    )


def conditions() -> pa.Table:
    return pa.table(
        {
            "id": ["cond-9", "cond-10"],
            "patient_id": ["pat-aaron", "pat-zoe"],
            "encounter_id": ["enc-001", "enc-002"],
            "code": ["E11.9", "I10"],
            "onset_date": pa.array([dt.date(2020, 3, 1), dt.date(2019, 12, 31)], pa.date32()),
            "note": ["Zoë Müller, zoe@example.org", "seen by Dr Brekke496"],
            "brand_new_column": ["pat-aaron", "02139"],
            "source_id": ["us-synthea", "de-mii"],
            "country": ["US", "DE"],
        }
    )


def tables() -> dict[str, pa.Table]:
    return {"patient": patients(), "encounter": encounters(), "condition": conditions()}


def released(profile_name: str, key: bytes = KEY) -> dict[str, pa.Table]:
    profile = load_profile(profile_name)
    return {name: deidentify_table(name, t, profile, key, today=TODAY) for name, t in tables().items()}


def all_values(table: pa.Table) -> list[str]:
    return [str(v) for column in table.columns for v in column.to_pylist() if v is not None]


def original_dates() -> set[str]:
    found = set()
    for table in tables().values():
        for column in table.columns:
            if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
                for value in column.to_pylist():
                    found.add(value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat())
    return found


@pytest.mark.parametrize("profile_name", ["gdpr-pseudonymised", "safe-harbor"])
def test_no_identifier_survives_in_any_output(profile_name: str) -> None:
    forbidden = NAMES + ADDRESSES + TELECOMS + FILES + ORIGINAL_IDS + ["Brekke", "Lindenstraße", "Müller"]
    dates = original_dates()
    for name, table in released(profile_name).items():
        text = " ".join(all_values(table)) + " " + " ".join(table.column_names)
        for value in forbidden:
            assert value not in text, f"{profile_name}: {value!r} leaked into {name}"
        for value in all_values(table):
            assert value[:10] not in dates, f"{profile_name}: un-shifted date {value} in {name}"


def test_unknown_columns_and_free_text_are_dropped() -> None:
    out = released("gdpr-pseudonymised")
    assert "note" not in out["condition"].column_names
    assert "brand_new_column" not in out["condition"].column_names
    assert "reason_text" not in out["encounter"].column_names
    assert {"name_family", "address_line", "city", "telecom", "source_file", "address_postal_code"}.isdisjoint(
        out["patient"].column_names
    )
    tagged = patients().replace_schema_metadata({"origin": "patients/zoe_mueller.ndjson"})
    out_meta = deidentify_table("patient", tagged, load_profile("gdpr-pseudonymised"), KEY).schema.metadata
    assert out_meta == {b"fhirmony:privacy_profile": b"gdpr-pseudonymised"}
    unknown = deidentify_table("specimen", conditions(), load_profile("gdpr-pseudonymised"), KEY)
    assert unknown.column_names == ["id", "patient_id", "source_id", "country", "split"]


def test_intervals_are_preserved_within_and_across_tables() -> None:
    before = tables()
    after = released("gdpr-pseudonymised")
    enc_b, enc_a = before["encounter"].to_pylist(), after["encounter"].to_pylist()
    cond_b, cond_a = before["condition"].to_pylist(), after["condition"].to_pylist()
    for b, a in zip(enc_b, enc_a, strict=True):
        assert a["period_end"] - a["period_start"] == b["period_end"] - b["period_start"]
        assert a["period_start"] != b["period_start"]
        assert a["period_start"].time() == b["period_start"].time()
    for eb, ea, cb, ca in zip(enc_b, enc_a, cond_b, cond_a, strict=True):
        assert ca["onset_date"] - ea["period_start"].date() == cb["onset_date"] - eb["period_start"].date()


def test_birth_dates_keep_year_and_month_only_after_the_shift() -> None:
    profile = load_profile("gdpr-pseudonymised")
    out = released("gdpr-pseudonymised")["patient"]
    for row, original in zip(out.to_pylist(), patients().to_pylist(), strict=True):
        offset = date_offset_days(KEY, original["source_id"], original["id"], profile.max_shift_days)
        shifted = original["birth_date"] + dt.timedelta(days=offset)
        assert row["birth_date"] == shifted.replace(day=1)
    assert out.schema.field("birth_date").metadata[b"fhirmony:precision"] == b"month"


def test_same_key_same_pseudonyms_other_key_unlinkable() -> None:
    first, again, other = (
        released("gdpr-pseudonymised"),
        released("gdpr-pseudonymised"),
        released("gdpr-pseudonymised", OTHER_KEY),
    )
    for name in first:
        assert first[name].equals(again[name])
    assert first["encounter"].column("patient_id").to_pylist() == first["patient"].column("id").to_pylist()
    assert first["condition"].column("encounter_id").to_pylist() == first["encounter"].column("id").to_pylist()
    ids = set(all_values(first["patient"].select(["id"])))
    other_ids = set(all_values(other["patient"].select(["id"])))
    assert ids.isdisjoint(other_ids)
    assert (
        first["encounter"].column("period_start").to_pylist() != other["encounter"].column("period_start").to_pylist()
    )


def test_ids_from_different_sources_never_collide() -> None:
    assert pseudonym(KEY, "us-synthea", "1") != pseudonym(KEY, "de-mii", "1")
    assert len(pseudonym(KEY, "s", "1")) == 32


def test_split_is_one_per_patient_in_every_table() -> None:
    out = released("gdpr-pseudonymised")
    split_of: dict[str, str] = {}
    for table in out.values():
        for row in table.select(["patient_id", "split"]).to_pylist():
            assert row["split"] in {"train", "validation", "test"}
            assert split_of.setdefault(row["patient_id"], row["split"]) == row["split"]
    assert set(split_of) == set(out["patient"].column("id").to_pylist())


def test_splits_follow_the_ratios() -> None:
    counts = Counter(assign_split(pseudonym(KEY, "s", str(i))) for i in range(20_000))
    assert 0.78 < counts["train"] / 20_000 < 0.82
    assert 0.09 < counts["validation"] / 20_000 < 0.11
    assert 0.09 < counts["test"] / 20_000 < 0.11


def test_date_offsets_are_never_zero_and_bounded() -> None:
    offsets = [date_offset_days(KEY, "s", str(i), 30) for i in range(5_000)]
    assert 0 not in offsets
    assert min(offsets) == -30 and max(offsets) == 30
    assert date_offset_days(KEY, "s", "p", 30) == date_offset_days(KEY, "s", "p", 30)


def test_safe_harbor_years_zip3_and_old_ages() -> None:
    out = released("safe-harbor")
    patient = out["patient"].to_pylist()
    assert patient[0]["birth_date"] == dt.date(1961, 1, 1)
    assert patient[1]["birth_date"] == dt.date(TODAY.year - 90, 1, 1)  # born 1930: 96 → grouped
    assert [p["address_postal_code"] for p in patient] == ["021", None]  # non-US postal codes removed
    starts = out["encounter"].column("period_start").to_pylist()
    assert [s.date() for s in starts] == [dt.date(2020, 1, 1), dt.date(2021, 1, 1)]
    small = pa.table(
        {"id": ["a", "b"], "address_postal_code": ["03601", "10001"], "source_id": ["s", "s"], "country": ["US"] * 2}
    )
    zips = (
        deidentify_table("patient", small, load_profile("safe-harbor"), KEY).column("address_postal_code").to_pylist()
    )
    assert zips == ["000", "100"]
    ages = pa.table({"id": ["e"] * 3, "patient_id": ["p"] * 3, "age": [45, 90, 97], "source_id": ["s"] * 3})
    assert deidentify_table("encounter", ages, load_profile("safe-harbor"), KEY).column("age").to_pylist() == [
        45,
        90,
        90,
    ]


def test_k_anonymity_l_diversity_and_suppression() -> None:
    profile = load_profile("safe-harbor")
    n = 7
    patient = pa.table(
        {
            "id": [f"p{i}" for i in range(n)],
            "gender": ["female"] * 6 + ["male"],
            "birth_date": pa.array([dt.date(1980, 1, 1)] * 6 + [dt.date(1940, 1, 1)], pa.date32()),
            "address_state": ["Berlin"] * n,
            "country": ["DE"] * n,
        }
    )
    condition = pa.table({"patient_id": ["p0", "p1", "p2"], "code": ["I10", "E11", "I10"]})
    risk = measure_risk(patient, profile, k=5, sensitive=condition, today=TODAY)
    assert risk.report["k"] == 1
    assert risk.report["classes"] == 2
    assert risk.report["patients_below_k"] == 1 and risk.below_k == {"p6"}
    assert risk.report["l_diversity"]["l"] == 2  # the female class has I10 and E11
    assert risk.report["l_diversity"]["classes_without_values"] == 1  # the male class has no condition
    assert risk.report["quasi_identifiers"] == ["age_band", "sex", "country", "region"]
    kept = apply_suppression(
        {"patient": patient.rename_columns(["patient_id", *patient.column_names[1:]])}, risk, profile
    )
    assert "p6" not in kept["patient"].column("patient_id").to_pylist()
    assert risk.report["suppression"]["patients_suppressed"] == 1


def test_load_key_from_env_and_file_and_clear_errors(tmp_path) -> None:
    assert load_key(PrivacyConfig(key_env="K"), {"K": " 0123456789abcdef \n"}) == b"0123456789abcdef"
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-s3cret-s3cret\n")
    assert load_key(PrivacyConfig(key_file=key_file), {}) == b"s3cret-s3cret-s3cret"
    with pytest.raises(MissingKeyError, match="environment variable K"):
        load_key(PrivacyConfig(key_env="K"), {})
    with pytest.raises(MissingKeyError, match="does not exist"):
        load_key(PrivacyConfig(key_file=tmp_path / "absent"), {})
    with pytest.raises(MissingKeyError, match="shorter") as error:
        load_key(PrivacyConfig(key_env="K"), {"K": "tiny-secret"})
    assert "tiny-secret" not in str(error.value)


def test_missing_source_id_is_refused() -> None:
    with pytest.raises(ValueError, match="source_id"):
        deidentify_table("patient", pa.table({"id": ["x"]}), load_profile("safe-harbor"), KEY)


def test_empty_table_keeps_the_released_schema() -> None:
    profile = load_profile("gdpr-pseudonymised")
    full = deidentify_table("encounter", encounters(), profile, KEY)
    empty = deidentify_table("encounter", encounters().slice(0, 0), profile, KEY)
    assert empty.num_rows == 0
    assert empty.schema.equals(full.schema, check_metadata=True)


def view_columns() -> dict[str, set[str]]:
    """Column names of every ViewDefinition in schemas/views/ (nested selects included)."""
    import json
    from pathlib import Path

    def walk(selects: list[dict], found: set[str]) -> None:
        for select in selects:
            found.update(c["name"] for c in select.get("column", []))
            walk(select.get("select", []), found)
            walk(select.get("unionAll", []), found)

    views = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "schemas" / "views").glob("*.json")):
        view = json.loads(path.read_text())
        walk(view.get("select", []), views.setdefault(view["name"], set()))
    return views


@pytest.mark.parametrize("profile_name", ["gdpr-pseudonymised", "safe-harbor"])
def test_allow_list_matches_the_views_and_excludes_free_text(profile_name: str) -> None:
    views = view_columns()
    assert views, "schemas/views/ has no ViewDefinitions"
    profile = load_profile(profile_name)
    for table, columns in views.items():
        allowed = set(profile.columns(table))
        assert table in profile.tables, (
            f"view {table!r} has no allow-list: only its ids would be released; "
            "add its releasable columns to schemas/privacy/columns.yaml"
        )
        derived = {"age", "address_postal_code"}  # optional columns a source mapping may add
        stale = allowed - columns - {"id", "patient_id", "source_id", "country"} - derived
        assert not stale, f"{profile_name}: {table} allow-lists columns its view lacks: {sorted(stale)}"
        free_text = {"code_text", "value_string", "medication_text", "text", "note", "name", "telecom", "lot_number"}
        assert not allowed & free_text
