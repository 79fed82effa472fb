"""Scenario 3's notebook runs top to bottom on data the platform stored, opened the way `make notebook` opens it.

`make notebook` starts JupyterLab in notebooks/, so the kernel's working directory is notebooks/, and nobody sets
STREAMFORGE_HOME: the notebook must find the store where `make demo` left it, in the default home. To see that
without touching this checkout's own `.streamforge`, the test builds a checkout of its own (the package, the
pyproject.toml that marks its root, the notebook), stores two simulated days of two instruments in that checkout's
default home, lets the leaderboard asset evaluate four models on the second day, and runs the notebook there with the
copy first on the kernel's path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import nbformat
import pytest
from nbclient import NotebookClient

from dagster_runs import make_resources, materialize_days
from streamforge_assets.cross_venue import cross_venue
from streamforge_assets.partitions import INSTRUMENTS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path("notebooks") / "volume_volatility.ipynb"
OKX = "okx.spot.BTC-USDT"


def checkout_of_its_own(folder: Path) -> Path:
    shutil.copytree(ROOT / "streamforge", folder / "streamforge", ignore=shutil.ignore_patterns("__pycache__", "web"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "notebooks").mkdir()
    shutil.copy(ROOT / NOTEBOOK, folder / NOTEBOOK)
    return folder


def test_the_notebook_finds_the_default_home_from_notebooks_and_concludes(instance, broker, sim, tmp_path, monkeypatch):
    checkout = checkout_of_its_own(tmp_path / "checkout")
    resources = make_resources(broker.bootstrap, sim, checkout / ".streamforge")  # where `make demo` stores
    from streamforge_assets.leaderboard import leaderboard

    instance.add_dynamic_partitions(INSTRUMENTS.name, ["binance.usdm.BTCUSDT", OKX])
    for name in ("BTCUSDT", "ETHUSDT", "binance.usdm.BTCUSDT", OKX):  # the perpetual after its spot: the basis reads it
        assert materialize_days(instance, resources, name, "2025-01-01", "2025-01-02").success
    for day in ("2025-01-01", "2025-01-02"):  # the cross-venue view of BTC on Binance and OKX, for "who leads?"
        for instrument in ("binance.spot.BTCUSDT", OKX):
            assert dg.materialize([cross_venue], instance=instance, resources=resources, partition_key=f"{day}|{instrument}").success
    for name, value in {"STREAMFORGE_LEADERBOARD_TRAIN_DAYS": "1",
                        "STREAMFORGE_LEADERBOARD_INSTRUMENTS": "binance.spot.BTCUSDT,ETHUSDT",
                        "STREAMFORGE_LEADERBOARD_SEEDS": "0,1", "STREAMFORGE_MODEL_MAX_EPOCHS": "3"}.items():
        monkeypatch.setenv(name, value)
    for label in ("persistence", "har", "harx", "relational"):
        assert dg.materialize([leaderboard], instance=instance, resources=resources,
                              partition_key=f"2025-01-02|{label}").success

    monkeypatch.delenv("STREAMFORGE_HOME")  # as in a newcomer's shell; the kernel inherits this environment
    monkeypatch.setenv("PYTHONPATH", str(checkout))  # the kernel imports the copy, whose default home is checked
    monkeypatch.setenv("STREAMFORGE_STORE", "embedded")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend turns each figure into a PNG output

    notebook = nbformat.read(checkout / NOTEBOOK, as_version=4)
    kernel_cwd = {"metadata": {"path": str(checkout / "notebooks")}}  # JupyterLab's --notebook-dir=notebooks
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources=kernel_cwd).execute()

    printed = "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    assert f"Who leads: binance.spot.BTCUSDT against {OKX} leads by a median" in printed  # the simulator's planted 500 ms
    assert f"Who leads: {OKX} against binance.spot.BTCUSDT trails by a median" in printed
    instruments = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.usdm.BTCUSDT", OKX]
    assert f"EmbeddedStore: 2304 five-minute candles of {instruments}" in printed
    assert "Same-interval hypothesis supported for" in printed
    for instrument in instruments:
        assert f"{instrument}: " in printed
    assert "576 five-minute basis rows of ['binance.usdm.BTCUSDT'], 6 funding settlements" in printed
    assert "Funding and basis: binance.usdm.BTCUSDT: " in printed
    figures = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 6  # one per instrument of the first section (OKX too), funding and basis, the leaderboard
    assert "Leaderboard over 1 day(s): best MSE " in printed and "seed(s) (HAC s.e." in printed
    assert not (checkout / "notebooks" / ".streamforge").exists()
