"""FHIRPath semantics of the compiled closures (fhirmony.views.fhirpath)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fhirmony.views.errors import EvaluationError, FhirPathSyntaxError
from fhirmony.views.fhirpath import Env, compile_path

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "gender": "female",
    "birthDate": "1970-06",
    "_birthDate": {"extension": [{"url": "http://x/time", "valueDateTime": "1970-06-01T10:00:00Z"}]},
    "name": [
        {"use": "official", "family": "Smith", "given": ["Ann", "Bea"]},
        {"use": "nickname", "family": "Jones", "given": ["Cat"]},
    ],
    "extension": [{"url": "http://x/birthsex", "valueCode": "F"}],
    "deceasedDateTime": "2020-01-02T03:04:05+02:00",
    "generalPractitioner": [{"reference": "http://h/fhir/Practitioner/9/_history/2"}],
    "managingOrganization": {"reference": "urn:uuid:abc", "type": "Organization"},
}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "valueQuantity": {"value": 1.5, "unit": "mg", "code": "mg"},
    "effectivePeriod": {"start": "2010-10-10", "end": "2010-10-11T12:00:00Z"},
    "component": [{"valueInteger": 3}, {"valueString": "x"}],
}


def ev(expression: str, resource: dict = PATIENT, **constants: object) -> list:
    compiled = compile_path(expression, constants, resource["resourceType"])
    return compiled.fn([resource], Env(resource))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name.family", ["Smith", "Jones"]),
        ("Patient.name.given", ["Ann", "Bea", "Cat"]),
        ("name[1].family", ["Jones"]),
        ("deceased.exists()", [True]),
        ("telecom.first().value", []),
        ("name.first().given", ["Ann", "Bea"]),
        ("name.given.first()", ["Ann"]),
        ("gender.first()", ["female"]),
        ("gender[1]", []),
        ("gender.length()", [6]),
        ("name[5].family", []),
        ("name.where(use = 'official').given.first()", ["Ann"]),
        ("name.select(given.count())", [2, 1]),
        ("name.given.last()", ["Cat"]),
        ("name.given.tail()", ["Bea", "Cat"]),
        ("name.given.skip(1).take(1)", ["Bea"]),
        ("name.exists(use = 'nickname')", [True]),
        ("name.all(family.exists())", [True]),
        ("telecom.empty()", [True]),
        ("(name.given | name.given).count()", [3]),
        ("name.given.combine(name.given).count()", [6]),
        ("name.given.exclude(name.where(use = 'nickname').given)", ["Ann", "Bea"]),
        ("name.select(given.union(family))", ["Ann", "Bea", "Smith", "Cat", "Jones"]),
        ("name.given.join(', ')", ["Ann, Bea, Cat"]),
        ("name.where($index = 1).family", ["Jones"]),
        ("deceased.ofType(dateTime).exists()", [True]),
        ("deceased is dateTime", [True]),
        ("extension('http://x/birthsex').value.ofType(code)", ["F"]),
        ("birthDate.extension('http://x/time').value.ofType(dateTime)", ["1970-06-01T10:00:00Z"]),
        ("Patient.birthDate.extension('http://x/birthsex').exists()", [False]),
        ("generalPractitioner.getReferenceKey(Practitioner)", ["9"]),
        ("generalPractitioner.getReferenceKey(Patient)", []),
        ("managingOrganization.getReferenceKey(Organization)", ["abc"]),
        ("managingOrganization.getReferenceKey(Patient)", []),
        ("getResourceKey()", ["p1"]),
        ("iif(active, 'yes', 'no')", ["yes"]),
        ("gender = %g", [True]),
        ("%rowIndex", [0]),
        ("`gender`", ["female"]),
        ("'it''s'.length()", None),
    ],
)
def test_paths_and_functions(expression: str, expected: list | None) -> None:
    if expected is None:
        with pytest.raises(FhirPathSyntaxError):
            ev(expression, g="female")
        return
    assert ev(expression, g="female") == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2", [3]),
        ("7 div 2", [3]),
        ("7 mod 2", [1]),
        ("3 / 2", [Decimal("1.5")]),
        ("1 / 0", []),
        ("0.1 + 0.2 = 0.3", [True]),
        ("'a' + 'b'", ["ab"]),
        ("'a' & {}", ["a"]),
        ("-(2 * 3)", [-6]),
        ("{} = 1", []),
        ("1 = 1.0", [True]),
        ("'a' ~ 'A'", [True]),
        ("@2010-10 = @2010-10-10", []),
        ("@2010-10-10 < @2010-10-11", [True]),
        ("@2010-10-10T10:00:00+02:00 = @2010-10-10T08:00:00Z", [True]),
        ("true and {}", []),
        ("false and {}", [False]),
        ("true or {}", [True]),
        ("{} implies false", []),
        ("false implies {}", [True]),
        ("true xor false", [True]),
        ("(1 | 2 | 2).count()", [2]),
        ("2 in (1 | 2)", [True]),
        ("'abc'.substring(1, 1)", ["b"]),
        ("'abc'.startsWith('ab')", [True]),
        ("'a-b'.replace('-', '+')", ["a+b"]),
        ("'abc'.matches('^a.c$')", [True]),
        ("'a,b'.split(',')", ["a", "b"]),
        ("'12'.toInteger() + 1", [13]),
        ("'x'.convertsToInteger()", [False]),
        ("true.toString()", ["true"]),
        ("'a\\'b'", ["a'b"]),
    ],
)
def test_operators_and_literals(expression: str, expected: list) -> None:
    assert ev(expression) == expected


@pytest.mark.parametrize(
    ("expression", "resource", "expected"),
    [
        ("value.ofType(Quantity).value.lowBoundary()", OBSERVATION, [1.45]),
        ("value.ofType(Quantity).value.highBoundary()", OBSERVATION, [1.55]),
        ("1.587.lowBoundary(2)", OBSERVATION, [1.58]),
        ("birthDate.lowBoundary()", PATIENT, ["1970-06-01"]),
        ("birthDate.highBoundary()", PATIENT, ["1970-06-30"]),
        ("effective.ofType(Period).start.lowBoundary()", OBSERVATION, ["2010-10-10T00:00:00.000+14:00"]),
        ("effective.ofType(Period).highBoundary()", OBSERVATION, ["2010-10-11T12:00:00.999Z"]),
        ("@T12:34.highBoundary()", OBSERVATION, ["12:34:59.999"]),
        ("component.value.ofType(integer)", OBSERVATION, [3]),
        ("component.value.ofType(string)", OBSERVATION, ["x"]),
        ("(value as Quantity).unit", OBSERVATION, ["mg"]),
    ],
)
def test_boundaries_and_choice_types(expression: str, resource: dict, expected: list) -> None:
    assert ev(expression, resource) == expected


@pytest.mark.parametrize("expression", ["name.", "foo()", "first(1)", "%undefined", "name[", "1 +", "'open"])
def test_compile_errors(expression: str) -> None:
    with pytest.raises(FhirPathSyntaxError):
        compile_path(expression, {}, "Patient")


@pytest.mark.parametrize("expression", ["name.given.single()", "name.given < 'x'", "name.given.substring(1)"])
def test_evaluation_errors(expression: str) -> None:
    with pytest.raises(EvaluationError):
        ev(expression)


def test_static_types_follow_the_model() -> None:
    assert compile_path("birthDate", {}, "Patient").type == "date"
    assert compile_path("name.where(use = 'official').given.first()", {}, "Patient").type == "string"
    assert compile_path("value.ofType(Quantity).value", {}, "Observation").type == "decimal"
    assert compile_path("name.exists()", {}, "Patient").type == "boolean"
    assert compile_path("effective.ofType(Period).start", {}, "Observation").type == "dateTime"


def test_generated_walks_skip_json_nulls_like_the_general_path() -> None:
    names = [{"given": [None, "B"]}, {"given": ["C"]}]
    resource = {"resourceType": "Patient", "name": names, "identifier": [None, {"value": "x"}]}
    assert ev("name.given", resource) == ["B", "C"]
    assert ev("name.first().given.first()", resource) == ["B"]
    assert ev("identifier.first().value", resource) == ["x"]


@pytest.mark.parametrize(
    "expression",
    ["value.ofType(Invalid)", "component.value.ofType(Nonsense)", "value is Bogus", "(value as Bogus).unit",
     "value.ofType(Other.Quantity)", "subject.getReferenceKey(NotAResource)"],
)  # fmt: skip
def test_type_specifiers_must_name_a_known_type(expression: str) -> None:
    with pytest.raises(FhirPathSyntaxError, match="unknown type"):
        compile_path(expression, {}, "Observation")


@pytest.mark.parametrize(
    "expression",
    ["value.ofType(Quantity)", "value.ofType(FHIR.Quantity)", "value.ofType(System.String)", "value.ofType(Instant)",
     "value.ofType(boolean)", "value.ofType(SimpleQuantity)", "value is Range", "component.value.ofType(integer)",
     "subject.getReferenceKey(Patient)", "contained.ofType(Resource)", "contained.ofType(ImagingSelection)"],
)  # fmt: skip
def test_type_specifiers_accept_fhir_system_and_r5_types(expression: str) -> None:
    compile_path(expression, {}, "Observation")
