"""FHIR -> Arrow column types and value conversion (fhirmony.views.types)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from fhirmony.views import load_view
from fhirmony.views.types import TIMESTAMP, arrow_type, fhir_type_name, to_arrow


@pytest.mark.parametrize(
    ("fhir", "collection", "ansi", "expected"),
    [
        ("boolean", False, None, pa.bool_()),
        ("positiveInt", False, None, pa.int64()),
        ("decimal", False, None, pa.float64()),
        ("date", False, None, pa.date32()),
        ("instant", False, None, TIMESTAMP),
        ("code", True, None, pa.list_(pa.string())),
        ("HumanName", False, None, pa.string()),
        ("date", False, "CHARACTER VARYING", pa.string()),
        ("dateTime", False, "DATE", pa.date32()),
        ("string", False, "TIMESTAMP WITH TIME ZONE", TIMESTAMP),
        (None, False, None, pa.string()),
    ],
)
def test_arrow_type(fhir: str | None, collection: bool, ansi: str | None, expected: pa.DataType) -> None:
    assert arrow_type(fhir, collection, ansi) == expected


def test_type_uris_reduce_to_fhir_type_names() -> None:
    assert fhir_type_name("http://hl7.org/fhirpath/System.String") == "string"
    assert fhir_type_name("http://hl7.org/fhir/StructureDefinition/dateTime") == "dateTime"
    assert fhir_type_name("Quantity") == "Quantity"


def test_timestamps_complete_partial_values_to_the_earliest_instant_in_utc() -> None:
    values = ["2010", "2010-06", "2010-06-15", "2010-06-15T10:00:00+02:00", "2010-06-15T10:00"]
    values += ["2010-06-15T10:00:00.123456789Z", None]
    array, failures = to_arrow(values, TIMESTAMP)
    assert failures == {}
    assert array.to_pylist() == [
        datetime(2010, 1, 1, tzinfo=UTC),
        datetime(2010, 6, 1, tzinfo=UTC),
        datetime(2010, 6, 15, tzinfo=UTC),
        datetime(2010, 6, 15, 8, tzinfo=UTC),
        datetime(2010, 6, 15, 10, tzinfo=UTC),
        datetime(2010, 6, 15, 10, 0, 0, 123456, tzinfo=UTC),
        None,
    ]


def test_bad_values_are_reported_per_row_and_nulled() -> None:
    array, failures = to_arrow(["1970-02", "1970-02-30", 12, "1970"], pa.date32())
    assert array.to_pylist() == [date(1970, 2, 1), None, None, date(1970, 1, 1)]
    assert sorted(failures) == [1, 2]
    booleans, failures = to_arrow([True, "true", None], pa.bool_())
    assert booleans.to_pylist() == [True, None, None] and list(failures) == [1]
    texts, failures = to_arrow(["a", 1, 1.5, True, {"a": 1}], pa.string())
    assert texts.to_pylist() == ["a", "1", "1.5", "true", '{"a":1}'] and failures == {}


def test_ansi_type_tag_keeps_a_date_as_text() -> None:
    view = load_view(
        {
            "resource": "Patient",
            "select": [
                {
                    "column": [
                        {"name": "born", "path": "birthDate", "type": "date",
                         "tag": [{"name": "ansi/type", "value": "CHARACTER VARYING"}]},
                        {"name": "born_date", "path": "birthDate"},
                    ]
                }
            ],
        }
    )  # fmt: skip
    assert view.schema.field("born").type == pa.string()
    assert view.schema.field("born_date").type == pa.date32()  # inferred from the R4 model
    table = view.evaluate([{"resourceType": "Patient", "birthDate": "1970-06"}]).table
    assert table.to_pylist() == [{"born": "1970-06", "born_date": date(1970, 6, 1)}]
