"""Small handmade harmonized tables with planted defects, shared by the quality tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

UTC = dt.UTC
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"


def ts(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def patients() -> pa.Table:
    """p3: gender 'robot', born 1800, country 'de'; p4: born in 2100; p5: no gender, died before birth."""
    return pa.table(
        {
            "id": ["p1", "p2", "p3", "p4", "p5"],
            "patient_id": ["p1", "p2", "p3", "p4", "p5"],
            "gender": ["male", "female", "robot", "female", None],
            "birth_date": pa.array(
                [
                    dt.date(1980, 1, 1),
                    dt.date(1990, 1, 1),
                    dt.date(1800, 1, 1),
                    dt.date(2100, 1, 1),
                    dt.date(1970, 1, 1),
                ],
                pa.date32(),
            ),
            "deceased_datetime": pa.array(
                [None, ts(2020, 1, 1), None, None, ts(1960, 1, 1)], pa.timestamp("us", tz="UTC")
            ),
            "source_id": ["src"] * 5,
            "country": ["DE", "DE", "de", "DE", "DE"],
        }
    )


def encounters() -> pa.Table:
    return pa.table(
        {
            "id": ["e1", "e2"],
            "patient_id": ["p1", "p2"],
            "status": ["finished", "finished"],
            "class_code": ["AMB", "AMB"],
            "period_start": pa.array([ts(2021, 1, 1), ts(2019, 6, 1)], pa.timestamp("us", tz="UTC")),
            "period_end": pa.array([ts(2021, 1, 3), ts(2019, 6, 1, 10)], pa.timestamp("us", tz="UTC")),
            "source_id": ["src"] * 2,
            "country": ["DE"] * 2,
        }
    )


# id, patient, encounter, code, system, value, unit, status, effective
_OBS = [
    ("o1", "p1", "e1", "2345-7", LOINC, 90.0, "mg/dL", "final", ts(2021, 1, 1, 8)),
    ("o2", "p2", "e2", "2857-1", LOINC, 3.0, "ng/mL", "final", ts(2019, 6, 1, 8)),  # PSA, female patient
    ("o3", "p9", "e1", "bad", LOINC, 1.0, "mcg", "bogus", ts(2021, 1, 2, 8)),  # orphan, format, unit, status
    ("o4", "p1", "e1", "2345-7", LOINC, 5000.0, "mg/dL", "final", ts(2099, 1, 1, 8)),  # range, future, visit
    ("o5", "p1", None, "2345-7", LOINC, 6.1, "mmol/L", "final", ts(1979, 1, 1, 8)),  # before birth
    ("o6", "p2", "e9", "718-7", LOINC, 13.0, "g/dL", "final", ts(2021, 3, 5, 8)),  # after death, orphan enc
    ("o7", "p1", "e1", "718-7", LOINC, 13.0, "g/dl", None, ts(2021, 1, 2, 8)),  # implausible unit, no status
    ("o8", "p1", "e1", "2345-7", LOINC, 90.0, "mg/dL", "final", ts(2021, 1, 1, 8)),  # duplicate of o1
    ("o1", "p1", "e1", "8867-4", LOINC, 70.0, "/min", "final", ts(2021, 1, 1, 12)),  # duplicate id
    ("o10", "p1", "e1", "123", SNOMED, None, None, "final", ts(2021, 1, 2, 8)),  # SNOMED too short
    ("o11", "p1", "e1", "GLU", "http://example.org/local", 1.0, "mg/dL", "final", ts(2021, 1, 2, 8)),  # unmapped
]


def observations() -> pa.Table:
    names = ["id", "patient_id", "encounter_id", "code", "code_system", "value", "unit", "status", "effective_datetime"]
    columns = list(zip(*_OBS, strict=True))
    arrays = {name: list(values) for name, values in zip(names, columns, strict=True)}
    table = pa.table(
        {
            **{k: pa.array(v, pa.string()) for k, v in arrays.items() if k not in ("value", "effective_datetime")},
            "value": pa.array(arrays["value"], pa.float64()),
            "effective_datetime": pa.array(arrays["effective_datetime"], pa.timestamp("us", tz="UTC")),
        }
    )
    return table.append_column("source_id", pa.array(["src"] * len(table))).append_column(
        "country", pa.array(["DE"] * len(table))
    )
