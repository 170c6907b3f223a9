"""fhir-xml reader: XML made in the test from the FHIR R4 spec's JSON examples, plus handwritten edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import shared_path
from tests.test_readers_common import invalid_resources, read_all

EXAMPLES = [
    "patient-example.json",
    "condition-example-f201-fever.json",
    "observation-example-bmd.json",
    "medicationrequestexample1.json",
    "immunization-example.json",
    "encounter-example-f201-20130404.json",
    "allergyintolerance-example.json",
    "procedure-example-f201-tpf.json",
]


def _without_narrative(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key != "text"}


def _to_xml(resource: dict[str, Any]) -> bytes:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource["resourceType"]).model_validate(resource).model_dump_xml()


@pytest.fixture(scope="module")
def examples() -> Path:
    return shared_path("data", "fhir-r4-spec-examples")


def test_spec_examples_round_trip(examples: Path, tmp_path: Path) -> None:
    expected = {}
    for name in EXAMPLES:
        if not (examples / name).exists():
            continue
        resource = orjson.loads((examples / name).read_bytes())
        expected[name.replace(".json", ".xml")] = resource
        (tmp_path / name.replace(".json", ".xml")).write_bytes(_to_xml(resource))
    result = read_all("fhir-xml", tmp_path)
    assert result.errors == [] and sum(result.counts.values()) == len(expected) >= 6
    for record in result.records:
        original = expected[record.origin.file]
        assert _without_narrative(record.resource) == _without_narrative(original), record.origin.file


def test_bundle_entries_are_streamed_with_their_line(examples: Path, tmp_path: Path) -> None:
    bundle = orjson.loads((examples / "diagnosticreport-example-lipids.json").read_bytes())
    (tmp_path / "bundle.xml").write_bytes(_to_xml(bundle))
    result = read_all("fhir-xml", tmp_path / "bundle.xml")
    types = [r.resource_type for r in result.records]
    assert result.errors == [] and len(types) == len(bundle["entry"])
    assert types[0] == "DiagnosticReport" and types.count("Observation") == 4
    assert [r.origin.detail for r in result.records][:2] == ["entry[0]", "entry[1]"]
    assert result.records[1].origin.line > result.records[0].origin.line
    assert invalid_resources([r.resource for r in result.records]) == []


HANDWRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir">
  <type value="collection"/>
  <entry>
    <resource>
      <Patient>
        <id value="p1"/>
        <!-- a comment is not data -->
        <name><family value="Müller"/><given value="Anna"/></name>
        <gender value="female"/>
        <birthDate value="1970-05-01">
          <extension url="http://example.org/precision"><valueCode value="day"/></extension>
        </birthDate>
      </Patient>
    </resource>
  </entry>
  <entry>
    <resource>
      <Observation>
        <id value="o1"/>
        <status value="final"/>
        <code><coding><system value="http://loinc.org"/><code value="2345-7"/></coding></code>
        <subject><reference value="Patient/p1"/></subject>
        <valueQuantity><value value="5.50"/><unit value="mmol/L"/></valueQuantity>
      </Observation>
    </resource>
  </entry>
  <entry>
    <resource><Patient><id value="p2"/><birthDate value="May 1970"/></Patient></resource>
  </entry>
  <entry>
    <resource><Patient><id value="p3"/><colour value="red"/></Patient></resource>
  </entry>
  <entry><request><method value="DELETE"/><url value="Patient/p9"/></request></entry>
</Bundle>
"""


def test_repeating_elements_become_arrays_and_bad_entries_are_errors(tmp_path: Path) -> None:
    (tmp_path / "collection.xml").write_text(HANDWRITTEN, encoding="utf-8")
    result = read_all("fhir-xml", tmp_path)
    patient, observation, bad_date = (r.resource for r in result.records if r.resource)
    assert patient["name"] == [{"family": "Müller", "given": ["Anna"]}]  # one <name>, still an array
    assert patient["_birthDate"]["extension"][0]["valueCode"] == "day"
    assert observation["code"]["coding"] == [{"system": "http://loinc.org", "code": "2345-7"}]
    assert observation["valueQuantity"]["value"] == 5.5
    assert "birthDate" in invalid_resources([bad_date])[0]  # the fhir stage's validation quarantines it
    (error,) = result.errors  # an element FHIR does not have is an error record at once
    assert error.origin.detail == "entry[3]" and error.resource_type == "Patient"
    assert error.error == "Patient.colour: not an element of Patient" and "colour" in (error.raw or "")


def test_malformed_and_foreign_xml(tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_text('<Patient xmlns="http://hl7.org/fhir">\n<id value="x"/>\n', encoding="utf-8")
    (tmp_path / "other.xml").write_text("<note><to>me</to></note>", encoding="utf-8")
    errors = {e.origin.file: e.error for e in read_all("fhir-xml", tmp_path).errors}
    assert errors["broken.xml"].startswith("malformed XML")
    assert errors["other.xml"].startswith("not FHIR XML")
