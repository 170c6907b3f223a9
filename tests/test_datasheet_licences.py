"""Licence derivation: share-alike wins, permissive combinations documented, unknowns refused."""

from __future__ import annotations

import pytest

from fhirmony.config import SourceConfig
from fhirmony.publish.licences import LicenceError, derive_licence, normalize_licence


def source(source_id: str, licence: str, fmt: str = "fhir-ndjson") -> dict[str, str]:
    return {"id": source_id, "licence": licence, "format": fmt, "country": "US"}


def test_odbl_source_makes_the_release_odbl_with_the_physionet_citation() -> None:
    licence, attribution = derive_licence(
        [source("us-mimic", "ODbL 1.0", "mimic-iv"), source("de-mii", "CC0-1.0"), source("us-syn", "Apache-2.0")]
    )
    assert licence == "ODbL-1.0"
    assert "https://doi.org/10.13026/07hj-2a80" in attribution
    assert "Goldberger" in attribution
    assert "derived databases must be shared under ODbL-1.0" in attribution
    assert "- de-mii, CC0-1.0" in attribution


def test_permissive_combinations() -> None:
    assert derive_licence([source("a", "CC0"), source("b", "CC0-1.0")])[0] == "CC0-1.0"
    assert derive_licence([source("a", "CC0"), source("b", "Apache License 2.0")])[0] == "Apache-2.0"
    assert derive_licence([source("a", "public domain"), source("b", "CC-BY-4.0")])[0] == "CC-BY-4.0"
    assert "Cite:" not in derive_licence([source("a", "CC0")])[1]


def test_config_sources_work_too(tmp_path) -> None:
    mimic = SourceConfig(id="us-mimic", country="US", format="mimic-iv", path=tmp_path, licence="ODbL-1.0")
    assert derive_licence([mimic])[0] == "ODbL-1.0"


def test_conflicts_and_unknown_licences_need_a_human() -> None:
    with pytest.raises(LicenceError, match="cannot be combined"):
        derive_licence([source("a", "ODbL-1.0"), source("b", "CC-BY-SA-4.0")])
    with pytest.raises(LicenceError, match="unrecognised licence"):
        derive_licence([source("a", "CC-BY-NC-4.0")])
    with pytest.raises(LicenceError, match="at least one source"):
        derive_licence([])
    assert normalize_licence("Open Data Commons Open Database License v1.0") == "ODbL-1.0"


def test_declared_licence_overrides_unless_share_alike_forbids() -> None:
    assert derive_licence([source("a", "CC0")], declared="CC-BY-4.0")[0] == "CC-BY-4.0"
    assert derive_licence([source("m", "ODbL-1.0", "mimic-iv")], declared="ODbL-1.0")[0] == "ODbL-1.0"
    with pytest.raises(LicenceError, match="share-alike"):
        derive_licence([source("m", "ODbL-1.0", "mimic-iv")], declared="CC0-1.0")
