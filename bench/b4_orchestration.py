"""B4: a backfill of 3 symbols × 7 days through the whole historical graph, launched through the webserver and run by
the Dagster daemon from its run queue — with StreamForge's runs (sized by volume, at most 7 cells) and, as the baseline
in the same run, one partition per run (Dagster's default behaviour for partitioned assets). Goal: ≤ 2 minutes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from tempfile import mkdtemp

import dagster as dg
from rich.console import Console

from bench.headline import Figure

HEADLINE = (
    Figure("backfill of 3 symbols × 7 days via the daemon, s", "streamforge_multi_run_7.wall_s",
           "baseline_one_partition_per_run.wall_s", "one partition per run", goal=120),
)
INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
START, END = "2025-01-01", "2025-01-07"


def backfill_once(partitions_per_run: int) -> dict:
    from streamforge_app import control
    from streamforge_app.stack import Stack
    from streamforge_assets.backfills import TAG

    home = Path(mkdtemp(prefix="sf-b4-"))
    # Read by `streamforge backfill`'s planner (here, in this process) as the most cells a run may hold.
    os.environ["STREAMFORGE_PARTITIONS_PER_RUN"] = str(partitions_per_run)
    with Stack(home=home, sim_env={"STREAMFORGE_SIM_VOLUME": "0.01"}) as stack:
        control.add_instruments(INSTRUMENTS, validate=True)
        started = time.monotonic()
        status = control.sized_backfill(INSTRUMENTS, START, END, [], stack.webserver_url, Console(quiet=True))
        wall = time.monotonic() - started
        runs = control.instance().get_runs(dg.RunsFilter(tags={TAG: status.id}))
    return {"succeeded": status.succeeded, "wall_s": round(wall, 1), "runs_launched": len(runs), "partitions": 21}


def run() -> dict:
    multi = backfill_once(7)
    single = backfill_once(1)
    return {
        "goal": "≤ 120 s wall for 3 symbols × 7 days through trades → candles → store via the daemon",
        "streamforge_multi_run_7": multi,
        "baseline_one_partition_per_run": single,
        "speedup_vs_baseline": round(single["wall_s"] / multi["wall_s"], 2) if multi["wall_s"] else None,
        "goal_met": multi["succeeded"] and multi["wall_s"] <= 120,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
