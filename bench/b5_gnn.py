"""B5: the GNN platform at scale, and the leaderboard it exists for.

Scale (issue 13): graph build, seconds per epoch, epochs to early stopping and peak memory of the relational net at
3, 50 and 200 instruments x 30 days, each case in a fresh process (so its peak RSS is its own). Graphs up to
STREAMFORGE_MODEL_FULL_GRAPH_NODES train full-graph, larger ones on neighbour-sampled mini-batches; the baseline is
full-graph training of the same graph (a few epochs) where it fits. Goal: 200 x 30 trains to early stopping in
<= 15 min on 2 CPU cores. The 3-instrument case is the simulator's market; 50 and 200 come from the simulator's
universe when it lists that many instruments, else from `synthetic_universe` — SYNTHETIC candles, labelled so in
the results. On a machine with CUDA the scale cases run on both devices and report the CPU/GPU ratio.

Leaderboard: the full line-up walk-forward on the last days of 3 simulated instruments x 30 days (lead-lag market
and control market), several seeds, every number with its spread over seeds, HAC standard error and DM test
against the best baseline. `run()` returns the numbers; `python -m bench.b5_gnn` prints JSON.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from multiprocessing import get_context

import polars as pl
import torch

from bench import synthetic_universe
from bench.headline import Figure
from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.graph import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.models.forecaster import ModelSpec
from streamforge.models.split import Split
from streamforge.models.evaluation import blocks_of
from streamforge.models.leaderboard import summarise
from streamforge.models.neural import Runtime
from streamforge.models.panel import Panel
from streamforge.models.walkforward import Protocol, walk_forward
from streamforge.models.lineup import LINEUP
from streamforge.sim.market import Market

FIRST_DAY = date(2025, 1, 1)
DAYS = 30
VOLUME = 0.01  # ~15k BTCUSDT aggTrades a day: enough for 1-minute candles, cheap to simulate
SCALE_VOLUME = 0.1  # the universe's 200th busiest instrument still trades every few minutes
SIM_SEED = 7
SIM_INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
UNIVERSE = 200  # STREAMFORGE_SIM_UNIVERSE of the scale cases: the simulator lists 179 spot instruments on FIRST_DAY
SCALES = (3, 50, 200)
# s/epoch needs a few epochs; the goal needs the largest case trained to early stopping (within a cap of epochs)
MEASURED_EPOCHS: dict[int, int] = {}  # every case trains to early stopping (issue 8: 50 x 30 in <= 10 min)
LARGEST_MAX_EPOCHS = 60  # a bound on a run that would not stop: far past the goal either way
THREADS = 2
TIMEOUT_S = 3 * 3600  # every case trains to early stopping, each in a fresh process
TRAINING = (("hidden", 32), ("layers", 2), ("learning_rate", 0.01), ("max_epochs", 300), ("return_loss_weight", 0.2))
# Patience in optimiser steps without a better validation loss: 20 full-graph epochs (one step each); a mini-batch
# epoch is several steps, so it waits as many steps, and at least MIN_PATIENCE epochs.
FULL_GRAPH_PATIENCE, MIN_PATIENCE = 20, 5
BASELINE_EPOCHS = 3
LEADERBOARD_DAYS = 1  # evaluation days at the end of the month (each one is a full walk-forward origin)
LEADERBOARD_PROTOCOL = Protocol(train_days=5, expanding_from=None, val_fraction=0.15, embargo=12, seeds=(0, 1))
CONTROL_LINEUP = ("persistence", "har", "harx", "mlp", "relational", "gnnhar")  # the control needs no ablations
GOAL = ("200 instruments x 30 days trains to early stopping in <= 15 min on 2 CPU cores (issue 13); 50 x 30 in <= 10 min "
        "(issue 8)")
HEADLINE = (
    Figure("training 50 instruments × 30 days to early stopping, s", "scale.50x30.cpu.train_s", goal=600,
           counts_if="scale.50x30.cpu.to_early_stopping"),
    Figure("50 × 30 reached early stopping", "scale.50x30.cpu.to_early_stopping", goal=True),
    Figure("s/epoch at 50 × 30, mini-batch", "scale.50x30.cpu.s_per_epoch",
           "scale.50x30.cpu_full_graph_baseline.s_per_epoch", "full graph"),
    Figure("training 200 × 30 to early stopping, s", "scale.200x30.cpu.train_s", goal=900,
           counts_if="scale.200x30.cpu.to_early_stopping"),
    Figure("200 × 30 reached early stopping", "scale.200x30.cpu.to_early_stopping", goal=True),
    Figure("pooled test MSE of next log RV, best model (lead-lag market)", "leaderboard_lead_lag.pooled.best_model_mse",
           "leaderboard_lead_lag.pooled.best_baseline_mse", "best baseline"),
    Figure("pooled test MSE, best model (control market)", "leaderboard_control.pooled.best_model_mse",
           "leaderboard_control.pooled.best_baseline_mse", "best baseline"),
)


def _universe(n: int) -> tuple[str, pl.DataFrame, pl.DataFrame, list[str]]:
    """(source, 5m candles, 1m candles, instruments): the simulator's busiest n spot instruments trading over the
    window when its universe lists that many, else SYNTHETIC ones."""
    if n == len(SIM_INSTRUMENTS):
        market, chosen = Market(SIM_SEED, volume=VOLUME), SIM_INSTRUMENTS
    else:
        market = Market(SIM_SEED, volume=SCALE_VOLUME, universe=UNIVERSE)
        last = FIRST_DAY + timedelta(days=DAYS - 1)
        trading = [i for i in market.listed("binance.spot", FIRST_DAY).values() if i.trading_on(FIRST_DAY) and i.trading_on(last)]
        chosen = [i.id for i in sorted(trading, key=lambda i: -i.agg_trades_per_day)][:n]
    if len(chosen) == n:
        c5, c1, _ = sim_window(market, chosen, FIRST_DAY, DAYS)
        return "simulator", c5, c1, chosen
    c5, c1 = synthetic_universe.candles(n, FIRST_DAY, DAYS)
    return "SYNTHETIC (bench/synthetic_universe.py)", c5, c1, synthetic_universe.symbols(n)


def _split() -> Split:
    start, _ = day_bounds_us(FIRST_DAY)
    return Split.plan(start, start + DAYS * 86_400_000_000, val_fraction=0.15, test_fraction=0.2, embargo=12)


def scale_case(n: int, device: str, baseline: bool) -> dict:
    """One case in this (fresh) process: build, then train to early stopping, or MEASURED_EPOCHS[n] epochs, or
    BASELINE_EPOCHS full-graph epochs for the baseline."""
    torch.set_num_threads(THREADS)
    _progress()
    source, c5, c1, instruments = _universe(n)
    split = _split()
    t0 = time.perf_counter()
    bundle = build_graph(c5, c1, train_end=split.train_end_us, instruments=instruments)
    build_s = time.perf_counter() - t0
    logging.info("%d instruments (%s): graph of %d nodes built in %.0f s", n, source, bundle.nodes.height, build_s)
    del c5, c1
    panel = Panel.of(bundle)
    blocks = blocks_of(panel, split)
    pairs, edges = bundle.stats.lead_lag.height, bundle.edges.height
    del bundle  # the panel holds what training reads
    _reset_peak_rss()
    runtime = Runtime.from_settings()
    full = baseline or panel.num_nodes <= runtime.full_graph_nodes
    runtime = Runtime(device, 10**12 if full else 0, runtime.batch_nodes, runtime.fanout)
    steps = 1 if full else -(-int(blocks["train"].sum()) // runtime.batch_nodes)
    patience = FULL_GRAPH_PATIENCE if full else max(MIN_PATIENCE, -(-FULL_GRAPH_PATIENCE // steps))
    overrides = TRAINING + (("patience", patience),)
    epochs = BASELINE_EPOCHS if baseline else MEASURED_EPOCHS.get(n)
    cap = epochs or (LARGEST_MAX_EPOCHS if n == max(SCALES) else None)
    if cap:
        overrides = tuple((k, cap if k == "max_epochs" else v) for k, v in overrides)
    forecaster = ModelSpec("relational", overrides=overrides).build(0)
    forecaster.runtime = runtime
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    report = forecaster.fit(panel, blocks)
    out = {
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine slows every number here
        "source": source,
        "instruments": n,
        "nodes": panel.num_nodes,
        "edges": edges,
        "lead_lag_pairs": pairs,
        "graph_build_s": round(build_s, 1),
        "mode": "full graph" if full else f"mini-batch {runtime.batch_nodes} seeds, fanout {runtime.fanout}",
        "steps_per_epoch": steps,
        "patience_epochs": patience,
        "epochs": report.epochs,
        "to_early_stopping": not epochs and report.epochs - report.best_epoch >= patience,
        "best_epoch": report.best_epoch,
        "train_s": round(report.seconds, 1),
        "s_per_epoch": round(report.seconds / max(report.epochs, 1), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "training_peak_rss_mb": _peak_rss_mb(),  # since the panel was built: what training itself needs
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak RSS (VmHWM), so training's own peak can be read."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_rss_mb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:"))


def _progress() -> None:
    """Each epoch's line goes to STREAMFORGE_HOME/bench-b5.log: a long case can be followed while it runs."""
    settings.home().mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=settings.home() / "bench-b5.log", level=logging.INFO,
                        format="%(asctime)s %(process)d %(message)s")


def _in_fresh_process(*args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(scale_case, *args).result()


def scale(devices: list[str]) -> dict:
    results: dict = {}
    for n in SCALES:
        case = {device: _in_fresh_process(n, device, False) for device in devices}
        if n < max(SCALES):  # the full-graph baseline: 200 x 30 took 25 s/epoch and 6 GB (issue 13)
            case["cpu_full_graph_baseline"] = _in_fresh_process(n, "cpu", True)
        if "cuda" in case:
            case["cpu_over_gpu_s_per_epoch"] = round(case["cpu"]["s_per_epoch"] / case["cuda"]["s_per_epoch"], 1)
        results[f"{n}x{DAYS}"] = case
    largest = results[f"{max(SCALES)}x{DAYS}"]["cpu"]
    results["goal_met"] = largest["to_early_stopping"] and largest["train_s"] <= 15 * 60
    return results


def leaderboard(lead_lag: bool) -> dict:
    torch.set_num_threads(THREADS)
    _progress()
    market = Market(SIM_SEED, volume=VOLUME, lead_lag=lead_lag)
    c5, c1, trades = sim_window(market, SIM_INSTRUMENTS, FIRST_DAY, DAYS, with_trades=True)
    days = [FIRST_DAY + timedelta(days=DAYS - LEADERBOARD_DAYS + i) for i in range(LEADERBOARD_DAYS)]
    specs = [s for s in LINEUP if lead_lag or s.label in CONTROL_LINEUP]
    t0 = time.perf_counter()
    forecasts = walk_forward(c5, c1, trades, days, specs, LEADERBOARD_PROTOCOL, SIM_INSTRUMENTS)
    summary = summarise(forecasts).sort("instrument", "mse_log_rv")
    numbers = [c for c, t in summary.schema.items() if t == pl.Float64]
    return {
        "evaluation_days": [d.isoformat() for d in days],
        "protocol": LEADERBOARD_PROTOCOL.to_dict(),
        "wall_s": round(time.perf_counter() - t0),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "pooled": _pooled(summary),
        "rows": summary.with_columns(pl.col(numbers).round(4)).to_dicts(),
    }


def _pooled(summary: pl.DataFrame) -> dict:
    """The best model and the best baseline over every instrument, by test MSE of next log RV, and the model's DM
    test against that baseline: the leaderboard's headline."""
    pooled = summary.filter(pl.col("instrument") == "ALL").sort("mse_log_rv")
    model = pooled.filter(pl.col("kind") == "model").row(0, named=True)
    baseline = pooled.filter(pl.col("kind") == "baseline").row(0, named=True)
    return {
        "best_model": model["model"], "best_model_mse": round(model["mse_log_rv"], 4),
        "best_model_mse_se": round(model["mse_se"], 4), "best_model_mse_sd_over_seeds": round(model["mse_sd"], 4),
        "best_baseline": baseline["model"], "best_baseline_mse": round(baseline["mse_log_rv"], 4),
        "dm_mse": model["dm_mse"], "dm_mse_p": model["dm_mse_p"],
    }


def run() -> dict:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    return {
        "goal": GOAL,
        "threads": THREADS,
        "devices": devices,
        "scale": scale(devices),
        "leaderboard_lead_lag": leaderboard(True),
        "leaderboard_control": leaderboard(False),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
