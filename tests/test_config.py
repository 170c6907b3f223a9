"""fhirmony.yaml is validated on load, and every error names the key or path at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirmony.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    path = tmp_path / "fhirmony.yaml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = """
release: {name: test, version: "1.0"}
sources:
  - {id: de-a, country: DE, format: fhir-ndjson, path: data, licence: CC0-1.0}
"""


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.sources[0].path == (tmp_path / "data").resolve()
    assert config.release.name == "test"
    assert config.privacy.profile == "gdpr-pseudonymised"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    text = VALID.replace("licence: CC0-1.0}", "licence: CC0-1.0, colour: red}")
    with pytest.raises(ConfigError, match=r"sources\[0\] \(id 'de-a'\)\.colour: unknown key"):
        load_config(write(tmp_path, text))


def test_unsupported_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(id 'de-a'\)\.format: .*unsupported format 'hl7v2'"):
        load_config(write(tmp_path, VALID.replace("fhir-ndjson", "hl7v2")))


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(id 'de-a'\)\.path: not found: .*nowhere"):
        load_config(write(tmp_path, VALID.replace("path: data", "path: nowhere")))


def test_country_must_be_alpha2(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"country: .*ISO 3166-1 alpha-2"):
        load_config(write(tmp_path, VALID.replace("country: DE", "country: Germany")))


def test_csv_needs_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mapping: format 'csv' needs a mapping file"):
        load_config(write(tmp_path, VALID.replace("fhir-ndjson", "csv")))


def test_duplicate_source_ids(tmp_path: Path) -> None:
    text = VALID + "  - {id: de-a, country: DE, format: fhir-bundle, path: data, licence: CC0-1.0}\n"
    with pytest.raises(ConfigError, match=r"sources\[1\]\.id: duplicate source id 'de-a'"):
        load_config(write(tmp_path, text))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "sources: [\n"))


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ("coding: {condition: icd-10-xx}", r"\(id 'de-a'\)\.coding\.condition: unknown code system 'icd-10-xx'"),
        ("coding: {patient: icd-10-gm}", r"\(id 'de-a'\)\.coding\.patient: not a resource type with a coded"),
        ("units: {glucose: furlongs}", r"\(id 'de-a'\)\.units\.glucose: 'furlongs' is not a UCUM unit"),
        ("units: {unobtainium: mg/dL}", r"\(id 'de-a'\)\.units\.unobtainium: neither a LOINC code"),
    ],
)
def test_terminology_hints_are_checked_on_load(tmp_path: Path, hint: str, message: str) -> None:
    text = VALID.replace("licence: CC0-1.0}", f"licence: CC0-1.0, {hint}}}")
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))
    good = VALID.replace(
        "licence: CC0-1.0}", "licence: CC0-1.0, coding: {condition: ICD10GM}, units: {2345-7: mmol/L}}"
    )
    assert load_config(write(tmp_path, good)).sources[0].units == {"2345-7": "mmol/L"}
