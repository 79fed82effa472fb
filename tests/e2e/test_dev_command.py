"""`streamforge dev` as a person runs it: everything comes up on loopback, the UI shows the asset graph with its
partitions, kinds, owners, descriptions and column schemas, the stack file tells other commands where things are
but holds no credential, and Ctrl-C stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ASSETS = """
{ assetNodes {
    assetKey { path } description kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    partitionDefinition { type dimensionTypes { name type } }
    metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type } } } }
} }
"""
HISTORICAL = {"trades", "candles_1m", "candles_5m", "arangodb/trades", "arangodb/candles_1m", "arangodb/candles_5m"}


def wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamforge dev exited with {proc.returncode}:\n{proc.stdout.read()}")
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.5)
    raise AssertionError(f"{path} did not appear within {timeout_s} s")


def test_dev_serves_the_asset_graph_and_ctrl_c_stops_everything(tmp_path):
    # Credentials in the shell's environment, as a user pointing `make dev` at a secured store would have them.
    secrets = {"STREAMFORGE_ARANGO_PASSWORD": "pw-secret", "STREAMFORGE_KAFKA_SASL_PASSWORD": "sasl-secret",
               "STREAMFORGE_ARANGO_URL": "http://root:url-secret@127.0.0.1:8529"}
    env = {**os.environ, **secrets, "STREAMFORGE_HOME": str(tmp_path), "STREAMFORGE_SIM_VOLUME": "0.001"}
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.Popen([sys.executable, "-m", "streamforge_app.cli", "dev"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        stack = wait_for(tmp_path / "stack.json", proc)
        assert (tmp_path / "stack.json").stat().st_mode & 0o777 == 0o600
        assert "secret" not in (tmp_path / "stack.json").read_text()
        assert stack["env"]["STREAMFORGE_ARANGO_URL"] == "http://***@127.0.0.1:8529"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4  # broker, simulator, webserver, daemon (and their own children)

        nodes = httpx.post(f"{stack['webserver_url']}/graphql", json={"query": ASSETS}, timeout=60).json()["data"]["assetNodes"]
        by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
        assert HISTORICAL <= set(by_key)
        for key in HISTORICAL:
            node = by_key[key]
            assert node["description"], key
            assert node["kinds"], key
            assert {"team": "market-data"} in node["owners"], key
            assert node["partitionDefinition"]["type"] == "MULTIPARTITIONED", key
            assert {(d["name"], d["type"]) for d in node["partitionDefinition"]["dimensionTypes"]} == {
                ("date", "TIME_WINDOW"), ("instrument", "DYNAMIC")
            }, key
            schema = next(e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema")
            assert schema["schema"]["columns"], key
        assert "kafka" in by_key["trades"]["kinds"] and "arangodb" in by_key["arangodb/trades"]["kinds"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=90)
    assert not (tmp_path / "stack.json").exists()
    _, alive = psutil.wait_procs(children, timeout=15)
    leftovers = [" ".join(c.cmdline()) for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"still running after Ctrl-C: {leftovers}"
