"""Format `csv`: the declarative mapping language, on the demo registry and on small hand-made extracts."""

from __future__ import annotations

import csv
import gzip
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from fhirmony.config import SourceConfig, load_config
from fhirmony.demo import generate
from fhirmony.fhir.validate import validation_problem
from fhirmony.sources import SourceRecord, reader_for
from fhirmony.sources.mapping import MappingError, load_mapping
from fhirmony.sources.mapping.check import check
from fhirmony.sources.mapping.units import ConversionError, convert
from tests.conftest import shared_path

MAPPINGS = Path(__file__).resolve().parents[1] / "schemas" / "mappings"


def csv_source(folder: Path, mapping: str, files: dict[str, bytes | str], encoding: str = "utf-8") -> SourceConfig:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode(encoding)
        (folder / name).write_bytes(data)
    path = folder.parent / f"{folder.name}-mapping.yaml"
    path.write_text(textwrap.dedent(mapping), encoding="utf-8")
    return SourceConfig(id="t", country="NO", format="csv", path=folder, licence="CC0-1.0", mapping=path)


def records(source: SourceConfig) -> list[SourceRecord]:
    return list(reader_for(source).records())


@dataclass
class Registry:
    rows: list[SourceRecord]
    truth: dict[str, Any]
    folder: Path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    config_path = generate(tmp_path_factory.mktemp("demo"), patients=40, seed=9, sources=["no-register"])
    truth = json.loads((config_path.parent / "truth.json").read_text(encoding="utf-8"))["sources"]["no-register"]
    source = load_config(config_path).source("no-register")
    return Registry(records(source), truth, source.path)


def _find(rows: list[SourceRecord], file: str, line: int) -> SourceRecord:
    return next(r for r in rows if r.origin.file == file and r.origin.line == line)


def test_demo_mapping_is_the_shipped_one() -> None:
    mapping = load_mapping(MAPPINGS / "no-register.yaml")
    assert [rule.file for rule in mapping.files] == [
        "pasienter.csv",
        "kontakter.csv",
        "diagnoser.csv",
        "labsvar.csv",
        "malinger.csv",
        "resepter.csv",
    ]


def test_registry_counts_and_valid_resources(registry: Registry) -> None:
    rows, truth = registry.rows, registry.truth
    counts: dict[str, int] = {}
    for record in rows:
        counts[record.resource_type] = counts.get(record.resource_type, 0) + 1
    assert counts == truth["records"]
    errors = [r for r in rows if r.error]
    reader_defects = sum(
        d["count"] for k, d in truth["defects"].items() if d["stage"] == "quarantine" and k != "duplicate_id"
    )
    assert len(errors) == reader_defects
    assert all(
        validation_problem(r.resource) is None
        for r in rows
        if r.resource and r.resource["id"] not in {w["id"] for w in truth["defects"]["invalid_code"]["where"]}
    )


def test_registry_patient_and_encounter_content(registry: Registry) -> None:
    rows = registry.rows
    patient = _find(rows, "pasienter.csv", 2).resource
    assert patient is not None
    assert patient["id"] == "no-1000001" and patient["identifier"][0]["value"] == "1000001"
    assert patient["gender"] in {"male", "female"} and len(patient["birthDate"]) == 10
    assert patient["address"][0]["country"] == "NO"
    names = {r.resource["name"][0]["family"] for r in rows if r.resource and r.resource_type == "Patient"}
    assert names & {"Sørensen", "Ødegård", "Strøm", "Østby"}  # Latin-1 decoded
    encounter = _find(rows, "kontakter.csv", 2).resource
    assert encounter is not None and encounter["subject"] == {"reference": "Patient/no-1000001"}
    assert encounter["class"]["system"].endswith("v3-ActCode") and encounter["period"]["start"][-6:] in {
        "+01:00",
        "+02:00",
    }


def test_registry_lab_conversion_join_and_code_repair(registry: Registry) -> None:
    rows = registry.rows
    labs = [r.resource for r in rows if r.resource and r.resource["id"].startswith("no-lab-")]
    glucose = [lab for lab in labs if lab["code"]["coding"][0]["code"] == "14749-6"]
    assert glucose and all(g["valueQuantity"]["code"] == "mmol/L" for g in glucose)
    assert {g["code"]["text"] for g in glucose} == {"Glukose"}  # joined from analyser.csv
    assert all(g["code"]["coding"][1]["code"] == "S-GLU" for g in glucose)
    conditions = [r.resource for r in rows if r.resource and r.resource_type == "Condition"]
    assert any(c["code"]["coding"][0]["code"] in {"E11.9", "I10", "J06.9"} for c in conditions)
    # a legacy lab's mg/dl becomes mmol/L through the molar mass of the analyte
    folder = registry.folder
    legacy = 0
    lines = (folder / "labsvar.csv").read_text(encoding="latin-1").splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split(";")
        if fields[-1] != "mg/dl" or fields[3] != "S-GLU":
            continue
        record = _find(rows, "labsvar.csv", number)
        if record.resource is None:
            continue  # a row that also carries an injected defect
        quantity = record.resource["valueQuantity"]
        assert quantity["code"] == "mmol/L"
        assert quantity["value"] == pytest.approx(float(fields[5].replace(",", ".")) / 18.0156, rel=1e-4)
        legacy += 1
    assert legacy > 0


def test_registry_errors_name_file_line_and_rule(registry: Registry) -> None:
    rows, truth = registry.rows, registry.truth
    for kind, rule in (
        ("invalid_datatype", "fields.effectiveDateTime"),
        ("invalid_datatype", "fields.effectiveDateTime"),
        ("unmapped_code", "join[0]"),
        ("missing_required", "join[0]"),
        ("malformed_line", "files["),
    ):
        for where in truth["defects"][kind]["where"]:
            record = _find(rows, where["file"], where["line"])
            assert record.error and record.resource is None, where
            assert "no-register.yaml" in record.origin.detail and rule in record.origin.detail, record.origin
            assert record.raw
    unmapped = _find(rows, **{k: truth["defects"]["unmapped_code"]["where"][0][k] for k in ("file", "line")})
    assert (unmapped.error or "").startswith("unmapped value: files[3].join[0]: ")
    assert "is not in table analyses" in (unmapped.error or "")
    bad_date = _find(rows, **{k: truth["defects"]["invalid_datatype"]["where"][0][k] for k in ("file", "line")})
    assert (bad_date.error or "").startswith("invalid date: files[")


MINI = """\
mapping: 1
defaults: {delimiter: ";", date_format: DD.MM.YYYY, timezone: Europe/Oslo}
tables:
  sex: {values: {M: male, K: female}}
files:
  - file: people*.csv
    resource: Patient
    id: "p-{id}"
    fields:
      gender: {column: sex, map: sex, unmapped: omit}
      birthDate: {column: born, type: date, required: true}
      active: {column: active, type: boolean, default: true}
      multipleBirthInteger: {column: twin, type: integer}
      name[0].given[1]: {column: middle}
      name[0].given[0]: {column: first}
"""


def test_mini_mapping_types_defaults_globs_and_sparse_lists(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src",
        MINI,
        {
            "people-1.csv": "id;sex;born;active;twin;first;middle\n1;K;01.02.1990;nei;2;Kari;\n",
            "people-2.csv": "id;sex;born;active;twin;first;middle\n2;X;28.02.1980;;;;Ola\n\n",
        },
    )
    first, second = records(source)
    assert first.resource == {
        "resourceType": "Patient",
        "id": "p-1",
        "gender": "female",
        "birthDate": "1990-02-01",
        "active": False,
        "multipleBirthInteger": 2,
        "name": [{"given": ["Kari"]}],
    }
    assert second.origin.file == "people-2.csv" and second.origin.line == 2
    assert second.resource == {
        "resourceType": "Patient",
        "id": "p-2",
        "birthDate": "1980-02-28",
        "active": True,
        "name": [{"given": ["Ola"]}],
    }
    assert validation_problem(first.resource) is None


def test_row_errors_become_error_records(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src",
        MINI,
        {
            "people.csv": b"id;sex;born;active;twin;first;middle\n"
            b"1;K;30.02.1990;;;;\n"  # impossible date
            b"2;K;;;;;\n"  # required value missing
            b"3;K;01.01.1990;kanskje;x;;\n"  # not a boolean, not an integer
            b"4;K\n"  # malformed row
            b"5;K;01.01.1990;;;Bj\xf8rn;\n",  # Latin-1 byte in a UTF-8 file
        },
    )
    rows = records(source)
    assert [r.origin.line for r in rows] == [2, 3, 4, 5, 6]
    assert all(r.error and r.resource_type == "Patient" for r in rows)
    bad_date, missing, two, malformed, encoding = rows
    assert "files[0].fields.birthDate" in bad_date.origin.detail and "DD.MM.YYYY" in (bad_date.error or "")
    assert "day is out of range" in (bad_date.error or "")
    assert "column born is empty (required)" in (missing.error or "")
    assert "active" in (two.error or "") and "multipleBirthInteger" in (two.error or "")
    assert "2 fields, the header has 7" in (malformed.error or "")
    assert "encoding" in encoding.origin.detail and "utf-8" in (encoding.error or "")


def test_missing_column_or_file_is_an_exception_naming_file_line_and_rule(tmp_path: Path) -> None:
    source = csv_source(tmp_path / "a", MINI, {"people.csv": "id;sex;born;active;twin;first\n1;K;01.01.1990;;;\n"})
    with pytest.raises(MappingError, match=r"people.csv:1: column 'middle' used by .*files\[0\].fields.name"):
        records(source)
    source = csv_source(tmp_path / "b", MINI, {"other.csv": "x\n"})
    with pytest.raises(MappingError, match=r"files\[0\].file: no file matches 'people\*.csv'"):
        records(source)
    source = csv_source(tmp_path / "c", MINI, {"people.csv": b"id;s\xc3"}, encoding="utf-8")
    source_bad = csv_source(tmp_path / "d", MINI, {"people.csv": b"\xff\xfei\x00d\x00;\x00"})
    for broken in (source, source_bad):
        with pytest.raises(MappingError, match=r"people.csv:1: .*(not valid utf-8|column)"):
            records(broken)


def _mapping_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    assert str(path) in str(error.value)
    return str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("mapping: 1", "mapping: 2"), "mapping: unsupported language version 2"),
        (("      gender: {column: sex", "      gender: {colum: sex"), "files[0].fields.gender.colum: unknown key"),
        (("type: date", "type: datum"), "files[0].fields.birthDate.type: unknown type 'datum'"),
        (("map: sex", "map: gender"), "files[0].fields.gender.map: no table 'gender'"),
        (("resource: Patient", "resource: Quantity"), "files[0].resource: 'Quantity' is not a FHIR R4 resource type"),
        (("name[0].given[1]:", "name[0]..given:"), "files[0].fields.name[0]..given: not an element path"),
        (("timezone: Europe/Oslo", "timezone: Europe/Bergen"), "defaults.timezone: unknown time zone"),
        (("M: male", "M: NO"), "tables.sex.values.M: a boolean here"),
        (('id: "p-{id}"', 'id: "p-{id"'), "files[0].id: unbalanced braces"),
        (('delimiter: ";"', 'delimiter: ";;"'), "defaults.delimiter: must be one character"),
        (
            ("    resource: Patient\n", "    resource: Patient\n    join: [{table: sex, on: sex}]\n"),
            "files[0].join[0]: a key reads as True",
        ),
    ],
)
def test_mapping_validation_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in MINI
    assert message in _mapping_error(tmp_path, MINI.replace(old, new))


def test_mapping_validation_of_structure_and_references(tmp_path: Path) -> None:
    assert "missing required key 'files'" in _mapping_error(tmp_path, "mapping: 1\n")
    assert "not valid YAML" in _mapping_error(tmp_path, "mapping: [1\n")
    no_zone = MINI.replace(", timezone: Europe/Oslo", "").replace(
        "type: date, required", "type: dateTime, format: DD.MM.YYYY HH:mm, required"
    )
    assert "files[0].fields.birthDate: a dateTime with a time of day needs timezone" in _mapping_error(
        tmp_path, no_zone
    )
    joined = MINI.replace(
        "    resource: Patient\n", "    resource: Patient\n    join: [{table: sex, column: sex}]\n"
    ).replace("{column: first}", '"{sex.display}"')
    assert "{sex.display}: table 'sex' holds single values" in _mapping_error(tmp_path, joined)
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.yaml")


def test_unit_conversions() -> None:
    assert convert(100, "mg/dL", "mmol/L", molar_mass=180.156) == pytest.approx(5.5507, rel=1e-4)
    assert convert(5.0, "mmol/L", "mg/dL", molar_mass=386.654) == pytest.approx(193.327, rel=1e-5)
    assert convert(1.2, "mg/dL", "umol/L", molar_mass=113.12) == pytest.approx(106.08, rel=1e-3)
    assert convert(176.37, "[lb_av]", "kg") == pytest.approx(80.0, rel=1e-4)
    assert convert(98.6, "[degF]", "Cel") == pytest.approx(37.0)
    assert convert(14, "g/dL", "g/L") == pytest.approx(140)
    with pytest.raises(ConversionError, match="molar mass"):
        convert(5, "mmol/L", "mg/dL")
    with pytest.raises(ConversionError, match="cannot convert"):
        convert(5, "kg", "mmol/L")


def test_docs_worked_example_is_the_shipped_mapping() -> None:
    docs = (MAPPINGS.parents[1] / "docs" / "mapping.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in docs.split("```yaml\n")[1:]]
    example = next(b for b in blocks if b.startswith("mapping: 1\nname: no-register"))
    assert yaml.safe_load(example) == yaml.safe_load((MAPPINGS / "no-register.yaml").read_text(encoding="utf-8"))


HEADERLESS = """\
mapping: 1
conversions:
  - {from: "%", to: "mmol/mol", factor: 10.929, offset: -23.5}
files:
  - file: a1c.tsv
    delimiter: "\\t"
    header: false
    columns: [pid, code, value, unit, status]
    null_values: ["NA", "-"]
    resource: Observation
    id: "hba1c-{pid}"
    fields:
      status: {column: status, map: {F: final, P: preliminary}, unmapped: keep, default: unknown}
      code.coding[0]: {column: code, map: {A1C: {system: http://loinc.org, code: 59261-8}}, unmapped: omit}
      code.text: {column: code, replace: [{pattern: "^A", with: "a"}, {pattern: "C$", with: "c"}]}
      subject.reference: "Patient/{pid}"
      valueQuantity: {quantity: {value: value, unit: "{unit}", to: mmol/mol, digits: 1}}
"""


def test_headerless_tsv_null_values_inline_maps_and_declared_conversions(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src",
        HEADERLESS,
        {
            "a1c.tsv": " 17 \tA1C\t6.5\t%\tF\n18\tXYZ\tNA\t%\tX\n19\tA1C\t7\t-\t-\n",
        },
    )
    first, second, third = records(source)
    assert first.resource == {
        "resourceType": "Observation",
        "id": "hba1c-17",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "59261-8"}], "text": "a1c"},
        "subject": {"reference": "Patient/17"},
        "valueQuantity": {"value": 47.5, "unit": "mmol/mol", "system": "http://unitsofmeasure.org", "code": "mmol/mol"},
    }
    assert second.resource is not None and second.resource["status"] == "X"  # unmapped: keep
    assert "coding" not in second.resource["code"] and "valueQuantity" not in second.resource
    assert third.error is not None and third.error.startswith("missing value: ")
    assert "files[0].fields.valueQuantity" in third.origin.detail and "has no unit" in third.error


def test_gzip_files_are_read_like_plain_ones(tmp_path: Path) -> None:
    text = "id;sex;born;active;twin;first;middle\n1;K;01.02.1990;;;Kari;\n"
    source = csv_source(
        tmp_path / "src",
        MINI.replace("people*.csv", "people*.csv.gz"),
        {"people.csv.gz": gzip.compress(text.encode("utf-8"), mtime=0)},
    )
    (record,) = records(source)
    assert record.origin.file == "people.csv.gz" and record.resource is not None
    assert record.resource["birthDate"] == "1990-02-01"


@pytest.mark.shared
def test_mimic_iv_hosp_through_a_mapping(tmp_path: Path) -> None:
    """Real data nobody here wrote: gzip, ICD-9/10 told apart by a column, a composite-key join."""
    hosp = shared_path("data", "mimic-iv-demo-2.2", "hosp")
    source = SourceConfig(
        id="mimic", country="US", format="csv", path=hosp, licence="ODbL-1.0", mapping=MAPPINGS / "mimic-iv-hosp.yaml"
    )
    rows = records(source)
    assert [r for r in rows if r.error] == []
    counts: dict[str, int] = {}
    for record in rows:
        counts[record.resource_type] = counts.get(record.resource_type, 0) + 1
    assert counts == {"Patient": 100, "Encounter": 275, "Condition": 4506}
    assert all(validation_problem(r.resource) is None for r in rows if r.resource)
    codes = {
        (c["system"].rsplit("/", 1)[-1], c["code"], c.get("display"))
        for r in rows
        if r.resource_type == "Condition"
        for c in (r.resource or {})["code"]["coding"]
    }
    assert ("icd-9-cm", "E849.7", "Accidents occurring in residential institution") in codes
    assert ("icd-9-cm", "413.9", "Other and unspecified angina pectoris") in codes
    assert any(system == "icd-10-cm" and code == "E11.9" for system, code, _ in codes)
    assert all(display for _, _, display in codes)  # every code found in d_icd_diagnoses
    encounter = next(r.resource for r in rows if r.resource_type == "Encounter")
    assert encounter is not None and encounter["period"]["start"] == "2196-02-24T14:38:00-05:00"


def test_a_row_the_csv_module_rejects_is_an_error_record_and_reading_goes_on(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src",
        MINI,
        {
            "people.csv": f"id;sex;born;active;twin;first;middle\n1;K;01.01.1990;;;{'x' * 200};\n2;M;02.01.1990;;;;\n",
        },
    )
    limit = csv.field_size_limit(100)
    try:
        rows = records(source)
    finally:
        csv.field_size_limit(limit)
    assert [(r.origin.line, bool(r.error)) for r in rows] == [(2, True), (3, False)]
    assert (rows[0].error or "").startswith("malformed row: field larger than field limit")


def test_a_single_file_source(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src", MINI, {"people-9.csv": "id;sex;born;active;twin;first;middle\n9;K;01.01.1990;;;;\n"}
    )
    single = source.model_copy(update={"path": source.path / "people-9.csv"})
    (record,) = records(single)
    assert record.origin.file == "people-9.csv" and record.resource is not None
    (tmp_path / "src" / "other.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"other\.csv matches none of people\*\.csv"):
        records(source.model_copy(update={"path": source.path / "other.csv"}))


def test_check_tool_summarizes_a_mapping_on_an_extract(tmp_path: Path) -> None:
    source = csv_source(
        tmp_path / "src",
        MINI,
        {
            "people.csv": "id;sex;born;active;twin;first;middle\n1;K;01.01.1990;;;Kari;\n2;K;31.02.1990;;;;\n",
        },
    )
    assert source.mapping is not None
    lines: list[str] = []
    assert check(source.mapping, source.path, validate=True, out=lines.append) == 1
    assert lines[0].endswith("valid mapping, 1 file rules, 1 tables")
    assert any(line.startswith('  people.csv:2: {"resourceType":"Patient"') for line in lines)
    assert any(line.startswith("  people.csv:3: invalid date: files[0].fields.birthDate") for line in lines)
    assert lines[-1] == "people.csv: 1 Patient; 1 errors"
    (source.path / "people.csv").write_text("id;sex\n", encoding="utf-8")
    lines.clear()
    assert check(source.mapping, source.path, out=lines.append) == 2
    assert lines[-1].startswith("error: people.csv:1: column 'born'")
