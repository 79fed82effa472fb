"""Run the benchmarks, each in a fresh process, and write bench/results.json and docs/benchmarks.md.

Every benchmark module has `run() -> dict` that measures StreamForge's path and its baseline in the same run and
returns the numbers (and its goal), and `HEADLINE`, the figures docs/benchmarks.md opens with (bench/headline.py).
A benchmark that fails is recorded as failed with its error, never dropped. `python -m bench --markdown` writes
docs/benchmarks.md again from bench/results.json, measuring nothing.
"""

from __future__ import annotations

import importlib
import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from bench.headline import row

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BENCHMARKS = {
    "b1_kafka_io": "B1 Kafka IO path: IO manager codec vs one JSON message per trade vs raw Arrow batches",
    "b2_one_day": "B2 one BTCUSDT day (2025 volume) from the dump file through trades → store → candles; one OKX BTC-USDT day from its two UTC+8 files",
    "b3_candles": "B3 candle aggregation vs pandas resample on the same 1.5M trades",
    "b4_orchestration": "B4 backfill 3 symbols × 7 days through the graph via the Dagster daemon",
    "b5_gnn": "B5 GNN platform: s/epoch and peak memory at 3, 50 and 200 instruments × 30 days (mini-batch vs full graph), and the walk-forward leaderboard of the simulated market",
    "b6_live_latency": "B6 live path: WebSocket receive → Kafka ack latency and loader CPU at 2,000 events/s, micro-batched Arrow vs one JSON message per event; the same five assets on OKX spot and as Binance USD-M perpetuals",
    "b7_dashboard_latency": "B7 event → dashboard WebSocket client latency at 2,000 events/s over 5 instruments: coalesced pushes vs no coalescing",
    "b8_backfill_scale": "B8 backfills at universe scale: 200 instruments × 1 day and × 30 days through the webserver and daemon, run sizes vs 7 cells per run, memory of the Dagster processes, the partitions page in Chromium",
    "b9_live_scale": "B9 live at market scale: 200-asset universe through loader shards, sped up until they fall behind (p99 receive → ack, loss, CPU per shard; receive-only baseline), and Kafka → store lag and run rate beside the Dagster daemon",
    "b10_arango_store": "B10 one BTCUSDT day written to and read from the ArangoDB store (client side always, the server when STREAMFORGE_ARANGO_URL is set) vs the embedded store",
    "b11_sim_universe": "B11 simulator: one day of the 200-asset universe (every listed symbol) at volume 1.0 and 0.01, vs drawing its random numbers alone",
    "b12_cross_venue": "B12 cross-venue view: 10 assets × 2 venues × 30 days lined up per 5-minute interval with the lead-lag, vs reading its inputs",
}


def run_one(name: str, timeout_s: float | None = None) -> dict:
    """One benchmark in its own process, within its module's TIMEOUT_S (B5 and B8 run for hours) or half an hour."""
    timeout_s = timeout_s or getattr(importlib.import_module(f"bench.{name}"), "TIMEOUT_S", 1800)
    started, at = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    code = f"import json, bench.{name} as b; print('\\n@@RESULT@@' + json.dumps(b.run(), default=str))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    wall = round(time.monotonic() - started, 1)
    marker = proc.stdout.rfind("@@RESULT@@")
    if proc.returncode != 0 or marker < 0:
        tail = (proc.stderr or proc.stdout)[-2000:]
        return {"status": "failed", "measured_at": at, "wall_s": wall, "error": tail}
    result = json.loads(proc.stdout[marker + len("@@RESULT@@"):])
    return {"status": "ok", "measured_at": at, "wall_s": wall, "result": result}


def _flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(v, f"{prefix}{k}.")]
    if isinstance(value, float):
        return [(prefix[:-1], f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}")]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [row for i, v in enumerate(value) for row in _flatten(v, f"{prefix}{i}.")]
    return [(prefix[:-1], str(value))]


def headline_table(results: dict) -> list[str]:
    """One row per headline figure of every benchmark, in BENCHMARKS order; a failed benchmark is one row saying so."""
    lines = ["| benchmark | figure | baseline | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for name in (n for n in BENCHMARKS if n in results["benchmarks"]):
        entry, label = results["benchmarks"][name], BENCHMARKS[name].split(" ")[0]
        if entry["status"] != "ok":
            lines.append(f"| {label} | failed (details below) | — | — | — | ❌ |")
            continue
        figures = importlib.import_module(f"bench.{name}").HEADLINE
        lines += ["| " + " | ".join(row(label, figure, entry["result"])) + " |" for figure in figures]
    return lines + [
        "",
        "Ratio: how many times better StreamForge's figure is than the baseline measured beside it in the same run "
        "(above 1: StreamForge is better; below 1: the baseline is, for what it leaves out). Goals are the issues' own.",
        "",
    ]


def markdown(results: dict) -> str:
    env = results["environment"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (last run {results['measured_at']}) — {env['cpus']} CPUs, {env['memory_gib']} GiB, "
        f"Python {env['python']}, {env['platform']}. Each benchmark runs in its own process and measures StreamForge "
        "and its baseline side by side in the same run. Raw numbers: `bench/results.json`.",
        "",
        *headline_table(results),
        "## Details",
        "",
    ]
    for name, entry in results["benchmarks"].items():
        lines += [f"### {BENCHMARKS.get(name, name)}", ""]
        if entry["status"] != "ok":
            lines += [f"**Failed** after {entry['wall_s']} s:", "", "```", entry["error"].strip(), "```", ""]
            continue
        result = entry["result"]
        if "goal" in result:
            lines += [f"Goal: {result['goal']}", ""]
        lines += ["| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in _flatten({k: v for k, v in result.items() if k != "goal"})]
        when = f", started {entry['measured_at']}" if "measured_at" in entry else ""
        lines += ["", f"(benchmark wall time {entry['wall_s']} s{when})", ""]
    return "\n".join(lines)


def main(names: list[str]) -> int:
    results_path = BENCH / "results.json"
    if names == ["--markdown"]:
        (ROOT / "docs" / "benchmarks.md").write_text(markdown(json.loads(results_path.read_text())))
        return 0
    names = names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmarks {unknown}; known: {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    previous = json.loads(results_path.read_text()) if results_path.exists() else {}
    results = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {
            "cpus": psutil.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
        },
        "benchmarks": dict(previous.get("benchmarks", {})),
    }
    for name in names:
        print(f"running {name} …", flush=True)
        results["benchmarks"][name] = run_one(name)
        print(json.dumps(results["benchmarks"][name], indent=1, default=str)[:3000], flush=True)
    results_path.write_text(json.dumps(results, indent=1, default=str))
    (ROOT / "docs" / "benchmarks.md").write_text(markdown(results))
    return 0 if all(results["benchmarks"][n]["status"] == "ok" for n in names) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
