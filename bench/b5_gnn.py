"""B5: graph build and GNN training on a month of the simulated market (3 symbols x 30 days of 5-minute candles).

Goal (issue 3): graph build <= 10 s and training <= 60 s on 2 CPU cores. Reports wall times, epochs, peak RSS and the
metrics table (GNN against persistence, HAR-RV and the MLP) on the test block, for the market with the planted
lead-lag and for the control market without it. `run()` returns the numbers; `python bench/b5_gnn.py` prints JSON.
"""

from __future__ import annotations

import json
import resource
import time
from datetime import date

import polars as pl
import torch

from bench.headline import Figure
from streamforge.graph import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.models import Split, TrainConfig, train_and_evaluate
from streamforge.models.metrics import gnn_gain
from streamforge.sim.market import Market
from streamforge.dates import day_bounds_us

HEADLINE = (
    Figure("graph build, 3 symbols × 30 days, s", "lead_lag.graph_build_s", goal=10),
    Figure("GNN training, s", "lead_lag.training_s", goal=60),
    Figure("test MSE of next log RV, planted lead-lag", "lead_lag.gnn_gain_mse.0.gnn",
           "lead_lag.gnn_gain_mse.0.best_baseline", "best edge-free baseline"),
    Figure("test MSE of next log RV, control market", "control.gnn_gain_mse.0.gnn",
           "control.gnn_gain_mse.0.best_baseline", "best edge-free baseline"),
)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
FIRST_DAY = date(2025, 1, 1)
DAYS = 30
VOLUME = 0.01  # ~15k BTCUSDT aggTrades a day: enough for 1-minute candles, cheap to simulate


def run_market(lead_lag: bool) -> dict:
    c5, c1, trades = sim_window(Market(7, volume=VOLUME, lead_lag=lead_lag), SYMBOLS, FIRST_DAY, DAYS, with_trades=True)
    start, _ = day_bounds_us(FIRST_DAY)
    split = Split.plan(start, start + DAYS * 86_400_000_000, val_fraction=0.15, test_fraction=0.2, embargo=12)
    t0 = time.perf_counter()
    bundle = build_graph(c5, c1, trades, train_end=split.train_end_us)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = train_and_evaluate(bundle, split, TrainConfig.from_settings(), model_id=f"b5-{lead_lag}")
    train_s = time.perf_counter() - t0
    test = model.metrics.filter(pl.col("block") == "test").drop("model_id", "block", "window_end")
    return {
        "nodes": bundle.nodes.height,
        "edges": bundle.edges.group_by("edge_type").len().sort("edge_type").rows_by_key("edge_type", unique=True),
        "lead_lag_pairs": bundle.stats.lead_lag.to_dicts(),
        "graph_build_s": round(build_s, 2),
        "training_s": round(train_s, 2),
        "epochs": {k: {"epochs": r.epochs, "best_epoch": r.best_epoch, "s": round(r.seconds, 2)} for k, r in model.fit_reports.items()},
        "metrics_test": test.sort("symbol", "model").to_dicts(),
        "gnn_gain_mse": gnn_gain(model.metrics).sort("symbol").to_dicts(),
    }


def run() -> dict:
    torch.set_num_threads(2)
    results = {"symbols": SYMBOLS, "days": DAYS, "volume": VOLUME, "threads": torch.get_num_threads()}
    results["lead_lag"] = run_market(True)
    results["control"] = run_market(False)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
