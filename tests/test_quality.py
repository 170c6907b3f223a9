"""The check catalogue and its runner on small tables with planted defects: exact counts."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from test_quality_fixtures import LOINC, encounters, observations, patients, ts

from fhirmony.quality import CheckResult, load_catalogue, run_table_checks
from fhirmony.quality.catalogue import CatalogueError


@pytest.fixture(scope="module")
def obs_results() -> dict[str, CheckResult]:
    related = {"patient": patients(), "encounter": encounters()}
    results = run_table_checks("observation", observations(), source_id="src", country="DE", related=related)
    return {r.check_id: r for r in results}


@pytest.fixture(scope="module")
def patient_results() -> dict[str, CheckResult]:
    return {r.check_id: r for r in run_table_checks("patient", patients(), source_id="src", country="DE")}


def outcome(results: dict[str, CheckResult], check_id: str) -> tuple[str, int, int]:
    r = results[check_id]
    return r.status, r.violating, r.total


def test_catalogue_resolves_every_check_type() -> None:
    catalogue = load_catalogue()
    types = {c.check for c in catalogue.checks}
    assert types == set(catalogue.check_types)
    assert len(catalogue.checks) > 300
    assert all(
        0 <= c.threshold <= 1 and c.severity in ("fatal", "convention", "characterization") for c in catalogue.checks
    )


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("is_required:observation.status", ("failed", 1, 11)),
        ("is_required:observation.effective", ("passed", 0, 11)),
        ("is_primary_key:observation.id", ("failed", 2, 11)),
        ("is_foreign_key:observation.patient_id", ("failed", 1, 11)),
        ("is_foreign_key:observation.encounter_id", ("failed", 1, 10)),
        ("value_set:observation.status", ("failed", 1, 10)),
        ("code_format:observation.code[loinc]", ("failed", 1, 9)),
        ("code_format:observation.code[snomed]", ("failed", 1, 1)),
        ("standard_code_completeness:observation.code", ("failed", 1, 11)),
        ("ucum_unit:observation.unit", ("failed", 1, 10)),
        ("plausible_unit:observation.unit[2345-7]", ("passed", 0, 4)),
        ("plausible_unit:observation.unit[718-7]", ("failed", 1, 2)),
        ("plausible_value_range:observation.value[2345-7]", ("failed", 1, 3)),
        ("plausible_value_range:observation.value[718-7]", ("passed", 0, 1)),
        ("measure_value_completeness:observation.value", ("passed", 1, 11)),
        ("measure_person_completeness:observation.patient_id", ("failed", 3, 5)),
        ("no_future_dates:observation.effective", ("failed", 1, 11)),
        ("plausible_after_birth:observation.effective", ("failed", 1, 10)),
        ("plausible_before_death:observation.effective", ("failed", 1, 2)),
        ("within_visit_dates:observation.effective", ("failed", 1, 9)),
        ("plausible_gender:observation.code[psa]", ("failed", 1, 1)),
        ("duplicate_records:observation.patient_id", ("failed", 2, 11)),
        ("datatype:observation.value", ("passed", 0, 10)),
        ("plausible_value_range:observation.value[8480-6]", ("not_applicable", 0, 0)),
    ],
)
def test_planted_observation_defects(obs_results: dict[str, CheckResult], check_id: str, expected: tuple) -> None:
    assert outcome(obs_results, check_id) == expected


def test_samples_name_the_failing_rows(obs_results: dict[str, CheckResult]) -> None:
    assert obs_results["is_foreign_key:observation.patient_id"].sample == ["o3"]
    assert obs_results["plausible_value_range:observation.value[2345-7]"].sample == ["o4"]
    assert obs_results["plausible_after_birth:observation.effective"].sample == ["o5"]
    assert obs_results["plausible_before_death:observation.effective"].sample == ["o6"]
    assert obs_results["plausible_unit:observation.unit[718-7]"].sample == ["o7"]
    assert sorted(obs_results["duplicate_records:observation.patient_id"].sample) == ["o1", "o8"]
    assert obs_results["measure_person_completeness:observation.patient_id"].sample == ["p3", "p4", "p5"]


def test_engines_are_recorded(obs_results: dict[str, CheckResult]) -> None:
    engines = {r.check: r.engine for r in obs_results.values()}
    assert engines["value_set"] == "great_expectations"
    assert engines["plausible_after_birth"] == "duckdb"
    assert engines["is_foreign_key"] == "arrow"


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("value_set:patient.gender", ("failed", 1, 4)),
        ("is_required:patient.gender", ("failed", 1, 5)),
        ("field_format:patient.country", ("failed", 1, 5)),
        ("plausible_age:patient.birth_date", ("failed", 2, 5)),
        ("no_future_dates:patient.birth_date", ("failed", 1, 5)),
        ("plausible_start_before_end:patient.birth_date", ("failed", 1, 2)),
        ("is_primary_key:patient.id", ("passed", 0, 5)),
        ("datatype:patient.birth_date", ("passed", 0, 5)),
    ],
)
def test_planted_patient_defects(patient_results: dict[str, CheckResult], check_id: str, expected: tuple) -> None:
    assert outcome(patient_results, check_id) == expected


def test_absent_fields_and_tables_are_not_applicable(patient_results: dict[str, CheckResult]) -> None:
    split = patient_results["value_set:patient.split"]
    assert split.status == "not_applicable" and "split" in split.message
    alone = {r.check_id: r for r in run_table_checks("observation", observations(), source_id="s", country="DE")}
    fk = alone["is_foreign_key:observation.patient_id"]
    assert fk.status == "not_applicable" and "patient" in fk.message
    assert alone["plausible_after_birth:observation.effective"].status == "not_applicable"
    assert alone["is_required:observation.status"].status == "failed"  # per-table checks still run
    none = run_table_checks("observation", pa.table({"other": [1, 2]}), source_id="s", country="DE")
    assert none and {r.status for r in none} == {"not_applicable"}


def test_a_check_that_raises_is_an_error_not_a_crash() -> None:
    table = observations()
    table = table.set_column(table.schema.get_field_index("value"), "value", pa.array(["90", "x"] + ["1"] * 9))
    results = {r.check_id: r for r in run_table_checks("observation", table, source_id="s", country="DE")}
    broken = results["plausible_value_range:observation.value[2345-7]"]
    assert broken.status == "error" and broken.message
    datatype = results["datatype:observation.value"]
    assert (datatype.status, datatype.violating, datatype.total, datatype.sample) == ("failed", 1, 11, ["o2"])
    assert results["value_set:observation.status"].status == "failed"  # the rest of the suite still ran


def test_duplicate_column_names_give_errors_not_a_crash() -> None:
    table = observations()
    table = table.append_column("value", table.column("value"))
    results = {r.check_id: r for r in run_table_checks("observation", table, source_id="s", country="DE")}
    assert results["is_required:observation.status"].status == "error"
    assert "value" in results["is_required:observation.status"].message


def test_empty_table_checks_are_not_applicable() -> None:
    empty = observations().slice(0, 0)
    results = run_table_checks("observation", empty, source_id="s", country="DE")
    assert {r.status for r in results} == {"not_applicable"}


def test_catalogue_errors_name_the_entry(tmp_path) -> None:
    from fhirmony.quality.catalogue import CATALOGUE_DIR

    for path in CATALOGUE_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "checks.yaml").write_text("- check: no_such_check\n  targets: {patient: [id]}\n")
    with pytest.raises(CatalogueError, match=r"entry 1.*no_such_check"):
        load_catalogue(tmp_path)


def test_start_before_end_compares_by_day() -> None:
    start = [ts(2021, 1, 1, 10), ts(2021, 1, 1, 10), ts(2021, 1, 2)]
    end = [ts(2021, 1, 1), ts(2020, 12, 31, 23), None]  # same day (date-only end): fine; the day before: not
    table = pa.table(
        {
            "id": ["e1", "e2", "e3"],
            "period_start": pa.array(start, pa.timestamp("us", tz="UTC")),
            "period_end": pa.array(end, pa.timestamp("us", tz="UTC")),
        }
    )
    results = {r.check_id: r for r in run_table_checks("encounter", table, source_id="s", country="DE")}
    check = results["plausible_start_before_end:encounter.start"]
    assert (check.status, check.violating, check.total, check.sample) == ("failed", 1, 2, ["e2"])


def test_future_dates_tolerate_the_privacy_date_shift() -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    table = pa.table(
        {"id": ["e1", "e2"], "period_start": pa.array([soon, ts(2099, 1, 1)], pa.timestamp("us", tz="UTC"))}
    )
    plain = {r.check_id: r for r in run_table_checks("encounter", table, source_id="s", country="DE")}
    shifted = {
        r.check_id: r for r in run_table_checks("encounter", table, source_id="s", country="DE", date_shift_days=30)
    }
    assert plain["no_future_dates:encounter.start"].violating == 2
    assert (
        shifted["no_future_dates:encounter.start"].violating,
        shifted["no_future_dates:encounter.start"].sample,
    ) == (
        1,
        ["e2"],
    )
    assert "30 days" in shifted["no_future_dates:encounter.start"].message


def test_observation_components_get_lab_checks() -> None:
    components = pa.table(
        {
            "id": ["o1-0", "o1-1", "o9-0"],
            "observation_id": ["o1", "o1", "o99"],
            "patient_id": ["p1", "p1", "p1"],
            "code": ["8480-6", "8462-4", "8480-6"],
            "code_system": [LOINC] * 3,
            "value_quantity": [120.0, 80.0, 999.0],
            "value_unit_code": ["mm[Hg]", "mm[Hg]", "mm[Hg]"],
        }
    )
    related = {"observation": observations(), "patient": patients()}
    results = {
        r.check_id: r
        for r in run_table_checks("observation_component", components, source_id="s", country="DE", related=related)
    }
    assert outcome(results, "plausible_value_range:observation_component.value[8480-6]") == ("failed", 1, 2)
    assert outcome(results, "plausible_value_range:observation_component.value[8462-4]") == ("passed", 0, 1)
    assert outcome(results, "is_foreign_key:observation_component.observation_id") == ("failed", 1, 3)
    assert results["is_foreign_key:observation_component.observation_id"].sample == ["o9-0"]


def test_source_checks_cover_every_catalogue_table() -> None:
    from fhirmony.quality import run_source_checks

    tables = {"patient": patients(), "observation": observations()}
    results = run_source_checks(tables, source_id="s", country="DE")
    by_id = {r.check_id: r for r in results}
    assert (
        len(by_id)
        == len(results)
        == len(load_catalogue().for_table("patient") + load_catalogue().for_table("observation"))
        + sum(1 for c in load_catalogue().checks if c.scope == "table" and c.table not in tables)
    )
    absent = by_id["is_primary_key:encounter.id"]
    assert absent.status == "not_applicable" and "encounter absent" in absent.message
    assert by_id["is_foreign_key:observation.patient_id"].violating == 1  # related tables passed along
    assert by_id["is_foreign_key:observation.encounter_id"].status == "not_applicable"


@pytest.mark.parametrize(
    ("system", "good", "bad"),
    [
        ("icd10cm", ["E11.9", "I10", "S72.001A", "O09.899"], ["E11,9", "e11.9", "E119X.", "250.00"]),
        ("icd10gm", ["E11.90", "I10.00", "F32.1", "C50.4", "U07.1!"], ["E11.900", "I10,00", "e11.90"]),
        ("icd10", ["E11.9", "J45", "M80.08"], ["E11.900", "J 45"]),
        ("icd9cm", ["250.00", "V45.81", "E849.0", "401.9"], ["2500", "V4581."]),
        ("loinc", ["2345-7", "718-7", "14749-6"], ["23457", "GLU", "2345-"]),
        ("snomed", ["38341003", "44054006", "236886002"], ["123", "038341003", "S-1234"]),
        ("atc", ["A10BA02", "C09", "N02BE01"], ["A10BA0", "a10ba02", "10BA02"]),
        ("ops", ["5-470.11", "8-930", "1-632.0"], ["5470", "X-470.11"]),
        ("icd10pcs", ["0DTJ4ZZ", "5A1955Z"], ["0DTJ4Z", "0DTJ4ZI", "45.13"]),
        ("ndc", ["0002-7510-02", "00027510021", "50090-2875-0"], ["2-7510-02", "ABC"]),
    ],
)
def test_code_formats(system: str, good: list[str], bad: list[str]) -> None:
    import re

    regex = re.compile(load_catalogue().terminology["systems"][system]["regex"])
    assert [c for c in good if not regex.search(c)] == []
    assert [c for c in bad if regex.search(c)] == []


def test_ucum_validity() -> None:
    from fhirmony.quality.ucum import is_ucum, valid_units

    good = ["mg/dL", "mmol/L", "10*3/uL", "mL/min/{1.73_m2}", "kg/m2", "/min", "%", "{INR}", "m[IU]/L", "mm[Hg]"]
    good += ["1", "L/(min.m2)", "{/100}", "[IU]/L", "[MPL'U]", "mg/dl"]
    bad = ["mcg", "MG/DL", "IU/L", "cells/uL", "bpm", "mg per dL", "", "L/(min.m2", " mg/dL"]
    assert [u for u in good if not is_ucum(u)] == []
    assert [u for u in bad if is_ucum(u)] == []
    units = {u for lab in load_catalogue().labs for u in [lab["unit"], *lab["units"]]}
    assert [u for u in units if not is_ucum(u)] == []
    assert valid_units(["mg/dL", "mcg", None, "mg/dL", 3]) == ["mg/dL"]


def test_wrongly_typed_keys_are_flagged_and_still_joined() -> None:
    table = pa.table({"id": ["a", "b"], "patient_id": pa.array([1, 3])})
    related = {"patient": pa.table({"id": ["1", "2"], "birth_date": pa.array([dt.date(1990, 1, 1)] * 2)})}
    results = {
        r.check_id: r for r in run_table_checks("observation", table, source_id="s", country="DE", related=related)
    }
    assert outcome(results, "datatype:observation.patient_id") == ("failed", 2, 2)
    assert outcome(results, "is_foreign_key:observation.patient_id") == ("failed", 1, 2)
    assert results["is_foreign_key:observation.patient_id"].sample == ["b"]
    assert outcome(results, "measure_person_completeness:observation.patient_id") == ("failed", 1, 2)
