"""The simulator at universe scale: one day of the simulator's 200-asset universe, every Binance spot symbol listed that day, at volume 1.0 and
0.01; and the day of every instrument (perpetuals and OKX too) at 0.01.

StreamForge: one `Market` generates each symbol's aggregate trades for the day (price paths with their factors,
arrivals, sides, sizes, ids), the way the simulator's REST and dump endpoints ask for them. Baseline: numpy drawing
just the random numbers such a day consumes (per symbol the 1-second normals of the volatility, return and burst
processes over the day and the day before, and four draws per trade) — the floor of any generator of this model.
Each case is timed best of REPEATS in fresh markets (wall and CPU seconds); the machine is shared, so CPU seconds are
the steadier figure.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np

from bench.headline import Figure
from streamforge.sim.calendar import S_PER_DAY
from streamforge.sim.market import Market

DAY = date(2025, 3, 4)
SIZE = 200
REPEATS = 3
#: 1-second normal draws per symbol-day: two volatility components and the bursts over two days, the returns once.
NORMALS_PER_SYMBOL = 7 * S_PER_DAY
DRAWS_PER_TRADE = 4
HEADLINE = (
    Figure("one day of every listed spot symbol at volume 1.0, CPU s", "spot_volume_1.streamforge.cpu_s",
           "spot_volume_1.baseline_random_draws_only.cpu_s", "its random draws alone"),
)


def _timed(work) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _best(work) -> dict:
    runs = [_timed(work) for _ in range(REPEATS)]
    wall, cpu, result = min(runs, key=lambda run: run[1])
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "result": result}


def _generate(volume: float, markets: tuple[str, ...]) -> dict:
    market = Market(7, volume, universe=SIZE)
    keys = [i.id for m in markets for i in market.listed(m, DAY).values() if i.trading_on(DAY)]
    trades = sum(market.day_trades(key, DAY).height for key in keys)
    return {"instruments": len(keys), "agg_trades": trades}


def _draws(instruments: int, trades: int) -> int:
    rng = np.random.default_rng(0)
    for _ in range(instruments):
        rng.standard_normal(NORMALS_PER_SYMBOL)
    rng.random(trades * DRAWS_PER_TRADE)
    return instruments


def _case(volume: float, markets: tuple[str, ...]) -> dict:
    ours = _best(lambda: _generate(volume, markets))
    counts = ours.pop("result")
    floor = _best(lambda: _draws(counts["instruments"], counts["agg_trades"]))
    floor.pop("result")
    return counts | {
        "streamforge": ours,
        "baseline_random_draws_only": floor,
        "ms_per_instrument": round(1_000 * ours["cpu_s"] / counts["instruments"], 1),
        "x_baseline_cpu": round(ours["cpu_s"] / max(floor["cpu_s"], 1e-9), 1),
    }


def run() -> dict:
    spot = ("binance.spot",)
    every = ("binance.spot", "binance.usdm", "okx.spot", "okx.swap")
    return {
        "goal": "generating a day of the 200-asset universe stays practical (measured, no target)",
        "day": DAY.isoformat(),
        "universe": SIZE,
        "spot_volume_1": _case(1.0, spot),
        "spot_volume_0.01": _case(0.01, spot),
        "all_instruments_volume_0.01": _case(0.01, every),
    }
