"""The DuckDB fast path and the Python closures give identical rows, in the same order, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from fhirmony.views import CompiledView, load_view, load_views
from fhirmony.views.duck import run_plan
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[1]


def _both(view: CompiledView, files: list[Path], batch_size: int = 1000) -> tuple[pa.Table, pa.Table, list, list]:
    results = []
    for engine in ("python", "duckdb"):
        batches = list(view.evaluate_ndjson(files, batch_size=batch_size, engine=engine, threads=1))
        table = pa.concat_tables([b.table for b in batches])
        errors = sorted((Path(e.file).name, e.line) for b in batches for e in b.errors)
        results.append((table, errors))
    (py, py_errors), (db, db_errors) = results
    return py, db, py_errors, db_errors


def test_engines_agree_on_synthea_bulk_data(caplog: pytest.LogCaptureFixture) -> None:
    folder = shared_path("data", "synthea-bulk-ndjson-10")
    compared = 0
    for view in load_views(REPO / "schemas" / "views"):
        files = sorted(folder.glob(f"{view.resource}.*.ndjson"))
        if not files or view.sql_plan is None:
            continue
        py, db, py_errors, db_errors = _both(view, files)
        assert py.num_rows > 0
        assert py.equals(db), view.name
        assert py_errors == db_errors
        compared += 1
    assert compared >= 3
    assert "DuckDB could not read" not in caplog.text


CONTRACT_VIEW = {
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "family", "path": "name.family", "type": "string"},
                {"name": "official", "path": "name.where(use = 'official').given.first()", "type": "string"},
                {"name": "born", "path": "birthDate", "type": "date"},
                {"name": "active", "path": "active", "type": "boolean"},
                {"name": "gp", "path": "generalPractitioner.first().getReferenceKey(Practitioner)", "type": "string"},
            ]
        }
    ],
    "where": [{"path": "gender = 'female' or gender.empty()"}],
}


def test_engines_agree_on_contract_violations_and_bad_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    view = load_view(CONTRACT_VIEW)
    assert view.sql_plan is not None, view.sql_reason
    resources = [
        {"resourceType": "Patient", "id": "a", "name": [{"family": "A", "use": "official", "given": ["x", "y"]}],
         "birthDate": "1970", "active": True,
         "generalPractitioner": [{"reference": "http://h/fhir/Practitioner/9/_history/2"}]},
        {"resourceType": "Patient", "id": "b", "name": [{"family": "B"}, {"family": "C"}]},
        {"resourceType": "Patient", "id": "c", "birthDate": "1970-13-40"},
        {"resourceType": "Patient", "id": "d", "active": "yes", "gender": "female"},
        {"resourceType": "Patient", "id": "e", "gender": "male"},
        {"resourceType": "Observation", "id": "o"},
        {"resourceType": "Patient", "id": "f", "generalPractitioner": [{"reference": "Organization/1"}]},
    ]  # fmt: skip
    lines = [json.dumps(r) for r in resources]
    path = tmp_path / "Patient.ndjson"
    path.write_text("\n".join(lines) + "\n")
    py, db, py_errors, db_errors = _both(view, [path], batch_size=3)
    assert "DuckDB could not read" not in caplog.text
    assert py.equals(db)
    assert py_errors == db_errors == [("Patient.ndjson", 2), ("Patient.ndjson", 3), ("Patient.ndjson", 4)]
    assert py.column("id").to_pylist() == ["a", "f"]
    assert py.slice(0, 1).to_pylist()[0]["gp"] == "9"
    # a malformed line: DuckDB hands over to Python after the last line it delivered
    path.write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n")
    py, db, py_errors, db_errors = _both(view, [path], batch_size=2)
    assert py.equals(db) and py_errors == db_errors
    assert ("Patient.ndjson", 6) in db_errors
    assert "continuing in Python after line" in caplog.text


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_each_engine_yields_the_view_schema(engine: str, tmp_path: Path) -> None:
    view = load_view(CONTRACT_VIEW)
    path = tmp_path / "Patient.ndjson"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "z"}) + "\n")
    (batch,) = list(view.evaluate_ndjson([path], engine=engine))
    assert batch.table.schema == view.schema and batch.table.num_rows == 1


def test_interleaved_duckdb_generators_do_not_disturb_each_other(tmp_path: Path) -> None:
    view = load_view(CONTRACT_VIEW)
    path = tmp_path / "Patient.ndjson"
    path.write_text("".join(json.dumps({"resourceType": "Patient", "id": f"p{i}"}) + "\n" for i in range(50)))
    first = view.evaluate_ndjson([path], batch_size=10, engine="duckdb")
    second = view.evaluate_ndjson([path], batch_size=10, engine="duckdb")
    rows = [a.table.num_rows + b.table.num_rows for a, b in zip(first, second, strict=True)]
    assert sum(rows) == 100


def test_line_numbers_hold_with_blank_lines_and_parallel_scan(tmp_path: Path) -> None:
    view = load_view(CONTRACT_VIEW)
    lines = []
    for i in range(30_000):
        resource: dict = {"resourceType": "Patient", "id": f"p{i}", "gender": "female"}
        if i % 7919 == 0:
            resource["birthDate"] = "not-a-date"
        lines.append(json.dumps(resource))
        if i % 10_007 == 0:
            lines.append("")
    path = tmp_path / "Patient.ndjson"
    path.write_text("\n".join(lines) + "\n")
    results = []
    for engine, threads in (("python", 1), ("duckdb", 2)):
        batches = list(view.evaluate_ndjson([path], batch_size=4096, engine=engine, threads=threads))
        ids = [i for b in batches for i in b.table.column("id").to_pylist()]
        results.append((sorted(ids), sorted(e.line for b in batches for e in b.errors)))
    assert results[0] == results[1]
    assert len(results[0][1]) == 4
    assert lines[results[0][1][1] - 1].find("not-a-date") > 0


def test_top_level_foreach_skips_lines_without_the_element(tmp_path: Path) -> None:
    view = load_view(REPO / "schemas" / "views" / "observation_component.json")
    assert view._needle == b'"component'
    resources = [
        {"resourceType": "Observation", "id": "a", "component": [{"code": {"text": "x"}}, {"code": {"text": "y"}}]},
        {"resourceType": "Observation", "id": "b", "code": {"text": "no components"}},
        {"resourceType": "Observation", "id": "c", "component": [{"valueQuantity": {"value": "bad"}}]},
    ]
    path = tmp_path / "Observation.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    (batch,) = list(view.evaluate_ndjson([path]))
    assert batch.table.column("id").to_pylist() == ["a-0", "a-1"]
    assert [(e.line, "value_quantity" in e.reason) for e in batch.errors] == [(3, True)]
    assert batch.table.to_pylist() == view.evaluate(resources).table.to_pylist()


REFERENCES = [
    "Patient/1", "Patient/1/_history/2", "http://x/fhir/Patient/1", "http://x/fhir/Patient/1/_history/2",
    "a/b/Patient/1", "Patient", "Patient/", "x/_history/2", "Patient/1/_history/", "Organization?identifier=a|b",
    "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|99", "Patient/1?x=y", "Patient/1/", "Patient//1",
    "a/b?c/d", "/b", "#c", "#a/b", "urn:uuid:1", "urn:oid:1.2", "urn:oid:1/2", "Patient/1?q=/_history/3", "",
    "A?x/y", "Patient/1?x=a/b", "urn:uuid:abc?x", "Patient?identifier=http://x/y|1",
]  # fmt: skip


def test_reference_keys_agree_on_every_reference_form(tmp_path: Path) -> None:
    other = "link.first().other"
    view = load_view(
        {
            "resource": "Patient",
            "select": [
                {
                    "column": [
                        {"name": "id", "path": "id"},
                        {"name": "any", "path": f"{other}.getReferenceKey()", "type": "string"},
                        {"name": "patient", "path": f"{other}.getReferenceKey(Patient)", "type": "string"},
                    ]
                }
            ],
        }
    )
    path = tmp_path / "Patient.ndjson"
    lines = [
        {"resourceType": "Patient", "id": str(i), "link": [{"other": {"reference": r}}]}
        for i, r in enumerate(REFERENCES)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    python = next(b.table for b in view.evaluate_ndjson([path], engine="python")).to_pylist()
    duck = next(b.table for b in view.evaluate_ndjson([path], engine="duckdb")).to_pylist()
    assert python == duck
    keys = {REFERENCES[int(row["id"])]: row["patient"] for row in python}
    assert keys["http://x/fhir/Patient/1/_history/2"] == "1" and keys["Organization?identifier=a|b"] is None
    assert keys["urn:uuid:1"] == "1" and keys["#c"] is None and keys["a/b/Patient/1"] == "1"
    # the SQL keys `Type/id`, urns and conditional `Type?query` itself; the rare forms go to Python
    assert view.sql_plan is not None
    batches = run_plan(view.sql_plan, path, "Patient", view.schema, 100, 1, lambda _: None)
    retried = {REFERENCES[int(retry.resource["id"])] for batch in batches for retry in batch.retry}
    rare = {r for r in REFERENCES if ("/" in r.split("?")[0] if "?" in r else r.count("/") >= 2)}
    assert retried == rare and "Patient?identifier=http://x/y|1" not in rare


FOREACH_VIEW = {
    "resource": "Patient",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()", "type": "id"}]},
        {
            "forEachOrNull": "address",
            "column": [
                {"name": "i", "path": "%rowIndex", "type": "integer"},
                {"name": "city", "path": "city", "type": "string"},
                {"name": "since", "path": "period.start", "type": "dateTime"},
                {"name": "key", "path": "%resource.id & '-' & %rowIndex.toString()", "type": "string"},
                {"name": "gender", "path": "%resource.gender", "type": "code"},
            ],
        },
    ],
}


def test_engines_agree_on_a_top_level_foreach(tmp_path: Path) -> None:
    view = load_view(FOREACH_VIEW)
    assert view.sql_plan is not None and view.sql_plan.items is not None, view.sql_reason
    assert view.sql_plan.items.hoisted == ["gender"]
    resources = [
        {
            "resourceType": "Patient",
            "id": "a",
            "gender": "f",
            "address": [{"city": "X"}, {"city": "Y", "period": {"start": "2001"}}],
        },
        {"resourceType": "Patient", "id": "b", "gender": "m"},
        {"resourceType": "Patient", "id": "c", "address": [{"city": "Z", "period": {"start": "garbage"}}]},
        {"resourceType": "Patient", "id": "d", "address": [{"city": "W", "period": {"start": 2001}}]},
        {"resourceType": "Patient", "id": "e", "address": [{"city": "V"}]},
    ]
    path = tmp_path / "Patient.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    py, db, py_errors, db_errors = _both(view, [path])
    assert py.equals(db)
    assert py_errors == db_errors == [("Patient.ndjson", 3), ("Patient.ndjson", 4)]
    assert py.to_pylist() == [
        {"id": "a", "i": 0, "city": "X", "since": None, "key": "a-0", "gender": "f"},
        {"id": "a", "i": 1, "city": "Y", "since": py.column("since")[1].as_py(), "key": "a-1", "gender": "f"},
        {"id": "b", "i": 0, "city": None, "since": None, "key": None, "gender": None},
        {"id": "e", "i": 0, "city": "V", "since": None, "key": "e-0", "gender": None},
    ]  # in file order: the null row of `b` between the rows of `a` and `e`


def test_engines_agree_on_the_specification_examples() -> None:
    examples = shared_path("conformance", "sql-on-fhir-v2", "spec")
    patients = sorted(shared_path("data", "synthea-bulk-ndjson-10").glob("Patient.*.ndjson"))
    translated = 0
    for path in sorted(examples.glob("ViewDefinition-*.json")):
        view = load_view(path)
        if view.resource != "Patient" or view.sql_plan is None:
            continue
        py, db, py_errors, db_errors = _both(view, patients)
        keys = [(n, "ascending") for n in py.column_names]
        assert py.sort_by(keys).equals(db.sort_by(keys)), view.name
        assert py_errors == db_errors == []
        translated += 1
    assert translated >= 2  # patient_addresses (forEach + join) and patient_demographics
