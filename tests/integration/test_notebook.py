"""Scenario 3's notebook runs top to bottom on data the platform stored: two simulated days of two symbols go
through the historical graph into a temporary store, the leaderboard asset evaluates four models on the second day,
then nbclient executes the notebook with STREAMFORGE_HOME there.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import dagster as dg

from dagster_runs import make_resources, materialize_days

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "volume_volatility.ipynb"


def test_the_volume_volatility_notebook_runs_on_stored_candles_and_concludes(instance, broker, sim, tmp_path, monkeypatch):
    resources = make_resources(broker.bootstrap, sim, tmp_path)
    from streamforge_assets.leaderboard import leaderboard

    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert materialize_days(instance, resources, symbol, "2025-01-01", "2025-01-02").success
    for name, value in {"STREAMFORGE_LEADERBOARD_TRAIN_DAYS": "1", "STREAMFORGE_LEADERBOARD_INSTRUMENTS": "BTCUSDT,ETHUSDT",
                        "STREAMFORGE_LEADERBOARD_SEEDS": "0,1", "STREAMFORGE_MODEL_MAX_EPOCHS": "3"}.items():
        monkeypatch.setenv(name, value)
    for label in ("persistence", "har", "harx", "relational"):
        assert dg.materialize([leaderboard], instance=instance, resources=resources,
                              partition_key=f"2025-01-02|{label}").success
    monkeypatch.setenv("STREAMFORGE_HOME", str(tmp_path))  # the kernel inherits it: open_store() reads tmp_path/store
    monkeypatch.setenv("STREAMFORGE_STORE", "embedded")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend turns each figure into a PNG output

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    printed = "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    assert "EmbeddedStore: 1152 five-minute candles of ['BTCUSDT', 'ETHUSDT']" in printed
    assert "Same-interval hypothesis supported for" in printed
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert f"{symbol}: " in printed
    figures = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 3
    assert "Leaderboard over 1 day(s): best MSE " in printed and "seed(s) (HAC s.e." in printed
