"""The Dagster webserver serves the whole asset graph: every asset and asset check, per source partition."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

QUERY = """
{
  assetNodes {
    assetKey { path }
    isPartitioned
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    export.mkdir()
    (export / "Patient.000.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\n', encoding="utf-8")
    config = tmp_path / "fhirmony.yaml"
    config.write_text(
        "sources:\n"
        "  - {id: de-a, country: DE, format: fhir-ndjson, path: export, licence: CC0-1.0}\n"
        "  - {id: fr-b, country: FR, format: fhir-ndjson, path: export, licence: CC0-1.0}\n",
        encoding="utf-8",
    )
    return config


def test_webserver_shows_every_asset_and_check(tmp_path: Path, small_config: Path) -> None:
    from fhirmony.assets.graph import build_definitions
    from fhirmony.config import load_config
    from fhirmony.home import Home

    defs = build_definitions(load_config(small_config), Home(tmp_path / "home"))
    expected_assets = {tuple(key.path) for key in defs.resolve_asset_graph().get_all_asset_keys()}
    expected_checks = {(tuple(k.asset_key.path), k.name) for k in defs.resolve_asset_graph().asset_check_keys}

    port = free_port()
    dagster_home = tmp_path / "home" / "dagster"
    dagster_home.mkdir(parents=True)
    env = {
        **os.environ,
        "FHIRMONY_CONFIG": str(small_config),
        "FHIRMONY_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(dagster_home),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-w",
            str(REPO / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        nodes = None
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"webserver exited: {server.stderr.read().decode()[-2000:]}")
            try:
                answer = graphql(port, QUERY)
                nodes = answer.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert nodes, "the webserver never served the asset graph"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    served_assets = {tuple(node["assetKey"]["path"]) for node in nodes}
    served_checks = {
        (tuple(node["assetKey"]["path"]), check["name"])
        for node in nodes
        for check in node["assetChecksOrError"].get("checks", [])
    }
    assert served_assets == expected_assets
    assert served_checks == expected_checks
    assert {"landing", "fhir", "release"} <= {path[0] for path in served_assets}
    assert any(path[0] == "harmonized" for path in served_assets)
    partitioned = {tuple(n["assetKey"]["path"]) for n in nodes if n["isPartitioned"]}
    assert partitioned == served_assets - {("release",)}
