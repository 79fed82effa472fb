"""Scenario 3's notebook runs top to bottom on data the platform stored: two simulated days of two symbols go
through the historical graph into a temporary store, then nbclient executes the notebook with STREAMFORGE_HOME there.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dagster_runs import make_resources, materialize_days

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "volume_volatility.ipynb"


def test_the_volume_volatility_notebook_runs_on_stored_candles_and_concludes(instance, broker, sim, tmp_path, monkeypatch):
    resources = make_resources(broker.bootstrap, sim, tmp_path)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert materialize_days(instance, resources, symbol, "2025-01-01", "2025-01-02").success
    monkeypatch.setenv("STREAMFORGE_HOME", str(tmp_path))  # the kernel inherits it: open_store() reads tmp_path/store
    monkeypatch.setenv("STREAMFORGE_STORE", "embedded")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend turns each figure into a PNG output

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    printed = "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    assert "EmbeddedStore: 1152 five-minute candles of ['binance.spot.BTCUSDT', 'binance.spot.ETHUSDT']" in printed
    assert "Same-interval hypothesis supported for" in printed
    for instrument in ("binance.spot.BTCUSDT", "binance.spot.ETHUSDT"):
        assert f"{instrument}: " in printed
    figures = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 2
