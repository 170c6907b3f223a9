"""Shared fixtures: the real datasets in ../shared/data, and a throwaway FHIRMONY_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FHIRMONY_SHARED", REPO.parent / "shared")).resolve()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips the test when it is absent, fails in CI where it must exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: the real datasets live in ../shared (set FHIRMONY_SHARED to move it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path("data")


@pytest.fixture
def conformance_dir() -> Path:
    return shared_path("conformance", "sql-on-fhir-v2")


@pytest.fixture
def fhirmony_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FHIRMONY_HOME", str(home))
    return home
