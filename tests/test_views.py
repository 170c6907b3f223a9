"""The public API of fhirmony.views: loading, validation errors, evaluation to Arrow, quarantine."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from fhirmony.views import EvaluationError, ViewDefinitionError, load_view, load_views

REPO = Path(__file__).resolve().parents[1]
VIEWS = REPO / "schemas" / "views"

PATIENT_VIEW = {
    "resourceType": "ViewDefinition",
    "name": "pt",
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "getResourceKey()", "type": "id"},
                {"name": "birth_date", "path": "birthDate", "type": "date"},
                {"name": "last_updated", "path": "meta.lastUpdated", "type": "instant"},
                {"name": "family", "path": "name.family", "type": "string"},
            ]
        }
    ],
}


def test_schema_maps_fhir_types_to_arrow() -> None:
    view = load_view(PATIENT_VIEW)
    assert view.name == "pt" and view.resource == "Patient"
    assert view.schema.field("birth_date").type == pa.date32()
    assert view.schema.field("last_updated").type == pa.timestamp("us", tz="UTC")
    assert view.schema.field("family").type == pa.string()


def test_evaluate_completes_partial_dates_and_quarantines_failures() -> None:
    view = load_view(PATIENT_VIEW)
    resources = [
        {"resourceType": "Patient", "id": "a", "birthDate": "1970-06", "meta": {"lastUpdated": "2020-01-02"}},
        {"resourceType": "Patient", "id": "b", "name": [{"family": "X"}, {"family": "Y"}]},
        {"resourceType": "Patient", "id": "c", "birthDate": "not a date"},
        {"resourceType": "Observation", "id": "o"},
    ]
    batch = view.evaluate(resources)
    rows = batch.table.to_pylist()
    assert rows == [
        {"id": "a", "birth_date": date(1970, 6, 1), "last_updated": datetime(2020, 1, 2, tzinfo=UTC), "family": None}
    ]
    assert [(e.file, e.line) for e in batch.errors] == [("", 2), ("", 3)]
    assert "family" in batch.errors[0].reason and "birth_date" in batch.errors[1].reason


def test_evaluate_ndjson_streams_batches_and_reports_lines(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson"
    lines = [json.dumps({"resourceType": "Patient", "id": f"p{i}"}) for i in range(5)]
    lines.insert(2, "{broken")
    path.write_text("\n".join(lines) + "\n")
    batches = list(load_view(PATIENT_VIEW).evaluate_ndjson([path], batch_size=2))
    assert [b.table.num_rows for b in batches] == [2, 2, 1]
    errors = [e for b in batches for e in b.errors]
    assert [(Path(e.file).name, e.line) for e in errors] == [("Patient.ndjson", 3)]
    assert all(b.table.schema == batches[0].table.schema for b in batches)


@pytest.mark.parametrize(
    ("view", "element"),
    [
        ({"select": [{"column": [{"name": "id", "path": "id"}]}]}, "resource"),
        ({"resource": "Patient", "select": [{"column": [{"name": "id", "path": "name.("}]}]},
         "select[0].column[0].path"),
        ({"resource": "Patient", "select": [{"column": [{"name": "a", "path": "id"}, {"name": "a", "path": "id"}]}]},
         "select[0].column[1]"),
        ({"resource": "Patient", "select": [{"column": [{"name": "x", "path": "%nope"}]}]}, "select[0].column[0].path"),
        ({"resource": "Patient", "select": [{"forEach": "name", "forEachOrNull": "name",
                                              "column": [{"name": "x", "path": "family"}]}]}, "select[0]"),
        ({"resource": "Patient", "select": [{"column": [{"name": "x", "path": "foo()"}]}]}, "select[0].column[0].path"),
        ({"resource": "Patient", "select": [{"unionAll": [{"column": [{"name": "a", "path": "id"}]},
                                                          {"column": [{"name": "b", "path": "id"}]}]}]},
         "select[0].unionAll[1]"),
        ({"resource": "Patient", "constant": [{"name": "c"}], "select": [{"column": [{"name": "a", "path": "id"}]}]},
         "constant[0]"),
        ({"resource": "Patient", "name": "1bad", "select": [{"column": [{"name": "a", "path": "id"}]}]}, "name"),
        ({"resource": "Patient", "select": [{"forEeach": "name", "column": [{"name": "a", "path": "id"}]}]},
         "select[0]"),
        ({"resource": "Patient", "select": [{"repeat": "item", "column": [{"name": "a", "path": "id"}]}]},
         "select[0].repeat"),
        ({"resource": "Patient", "select": [{"column": [{"name": "a b", "path": "id"}]}]}, "select[0].column[0].name"),
        ({"resource": "Patient", "select": []}, "select"),
        ({"resource": "Patient", "where": [{"path": "name.where("}],
          "select": [{"column": [{"name": "a", "path": "id"}]}]}, "where[0].path"),
    ],
)  # fmt: skip
def test_invalid_views_name_the_offending_element(view: dict, element: str) -> None:
    with pytest.raises(ViewDefinitionError) as raised:
        load_view(view)
    assert str(raised.value).startswith(element + ":")


def test_harmonized_views_load_and_follow_conventions() -> None:
    views = load_views(VIEWS)
    names = [v.name for v in views]
    assert names == sorted(names)
    assert {"patient", "encounter", "condition", "observation"} <= set(names)
    for view in views:
        assert view.schema.names[0] == "id"
        assert "patient_id" in view.schema.names
        assert not {"source_id", "country"} & set(view.schema.names)
        assert view.definition.get("url") and view.definition.get("name") and view.definition.get("fhirVersion")
        declared = [c for s in view.definition["select"] for c in s.get("column", [])]
        assert len(declared) == len(view.columns), "Shareable: every column sits in a top-level select"
        for column in declared:
            assert column.get("type") and column.get("description"), f"{view.name}.{column['name']}"


def test_data_dictionary_lists_every_column_of_every_view(tmp_path: Path) -> None:
    from fhirmony.views.dictionary import write_data_dictionary

    views = load_views(VIEWS)
    markdown = write_data_dictionary(views, tmp_path / "dd.md").read_text()
    rows = json.loads(write_data_dictionary(views, tmp_path / "dd.json").read_text())
    assert len(rows) == sum(len(v.columns) + 2 for v in views)
    for view in views:
        assert f"## {view.name}" in markdown
        for column in view.columns:
            assert f"| `{column.name}` |" in markdown
    condition_code = next(r for r in rows if r["table"] == "condition" and r["column"] == "onset_date")
    assert condition_code["arrow_type"] == "timestamp[us, tz=UTC]" and condition_code["fhirpath"]


def test_committed_data_dictionary_is_current() -> None:
    from fhirmony.views.dictionary import render_markdown

    assert (REPO / "docs" / "data-dictionary.md").read_text() == render_markdown(load_views(VIEWS))


def test_cli_run_writes_parquet_with_the_view_schema(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from fhirmony.cli import main

    source = tmp_path / "Patient.ndjson"
    source.write_text(json.dumps({"resourceType": "Patient", "id": "a", "birthDate": "1980"}) + "\n")
    out = tmp_path / "out" / "patient.parquet"
    assert main(["views", "run", str(VIEWS / "patient.json"), str(source), "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.schema.equals(load_view(VIEWS / "patient.json").schema, check_metadata=False)
    assert table.to_pylist()[0]["birth_date"] == date(1980, 1, 1)


def test_harmonized_views_evaluate_real_synthea_data_without_errors() -> None:
    from tests.conftest import shared_path

    folder = shared_path("data", "synthea-bulk-ndjson-10")
    for view in load_views(VIEWS):
        files = sorted(folder.glob(f"{view.resource}.*.ndjson"))
        batches = list(view.evaluate_ndjson(files))
        assert [e for b in batches for e in b.errors] == [], view.name
        if files and view.name != "observation_component":
            table = pa.concat_tables([b.table for b in batches])
            assert table.num_rows > 0 and table["patient_id"].null_count == 0, view.name


def test_specification_repeat_and_row_index_examples() -> None:
    questionnaire = {
        "resourceType": "QuestionnaireResponse",
        "item": [
            {"linkId": "1", "text": "Demographics", "item": [{"linkId": "1.1", "text": "Age"}]},
            {"linkId": "2", "text": "Medical History", "answer": [{"item": [
                {"linkId": "2.1", "text": "Conditions", "answer": [{"item": [
                    {"linkId": "2.1.1", "text": "Diabetes Type"}]}]}]}]},
        ],
    }  # fmt: skip
    repeat = load_view(
        {
            "resource": "QuestionnaireResponse",
            "select": [
                {
                    "repeat": ["item", "answer.item"],
                    "column": [{"path": "linkId", "name": "item_id"}, {"path": "%rowIndex", "name": "i"}],
                }
            ],
        }
    )
    rows = repeat.evaluate_rows([questionnaire])
    assert [r["item_id"] for r in rows] == ["1", "1.1", "2", "2.1", "2.1.1"]
    assert [r["i"] for r in rows] == [0, 1, 2, 3, 4]
    names = [{"family": "Smith", "given": ["John", "James"]}, {"family": "Jones", "given": ["Jane"]}]
    patient = {"resourceType": "Patient", "id": "pt1", "name": names}
    union = load_view(
        {
            "resource": "Patient",
            "select": [
                {"column": [{"name": "id", "path": "id"}]},
                {
                    "forEach": "name",
                    "column": [{"name": "name_index", "path": "%rowIndex"}],
                    "select": [
                        {
                            "unionAll": [
                                {"forEach": "given", "column": [{"name": "given_index", "path": "%rowIndex"},
                                                                {"name": "value", "path": "$this"}]},
                                {"column": [{"name": "given_index", "path": "%rowIndex"},
                                            {"name": "value", "path": "family"}]},
                            ]
                        }
                    ],
                },
            ],
        }
    )  # fmt: skip
    got = [(r["name_index"], r["given_index"], r["value"]) for r in union.evaluate_rows([patient])]
    assert got == [(0, 0, "John"), (0, 1, "James"), (0, 0, "Smith"), (1, 0, "Jane"), (1, 1, "Jones")]


def test_cli_schema_and_dictionary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fhirmony.cli import main

    assert main(["views", "schema", str(VIEWS / "encounter.json")]) == 0
    assert "period_start: timestamp[us, tz=UTC]" in capsys.readouterr().out
    target = tmp_path / "dd.csv"
    assert main(["views", "dictionary", "--views", str(VIEWS), "-o", str(target)]) == 0
    header, *rows = target.read_text().splitlines()
    assert header == "table,column,fhir_type,arrow_type,fhirpath,description"
    assert any(r.startswith("encounter,period_start,dateTime,") for r in rows)
    assert main(["views", "schema", str(tmp_path / "missing.json")]) == 2


def test_where_path_must_give_a_boolean() -> None:
    def view(path: str) -> dict:
        select = [{"column": [{"name": "id", "path": "id"}]}]
        return {"resource": "Patient", "where": [{"path": path}], "select": select}

    named = {"resourceType": "Patient", "id": "a", "name": [{"family": "Fam"}], "active": True}
    nameless = {"resourceType": "Patient", "id": "b"}
    # a string where a condition belongs is an error, not a silent "false" (nor FHIRPath's "true")
    with pytest.raises(EvaluationError, match="instead of a boolean"):
        load_view(view("name.family")).evaluate_rows([named])
    # empty still filters the resource out, and a boolean element or a comparison is a condition
    assert load_view(view("name.family")).evaluate_rows([nameless]) == []
    assert load_view(view("active")).evaluate_rows([named, nameless]) == [{"id": "a"}]
    assert load_view(view("name.where(family = 'Fam').exists()")).evaluate_rows([named, nameless]) == [{"id": "a"}]
