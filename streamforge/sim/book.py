"""A deterministic order book around the simulated mid price, for REST depth (and later depth diffs).

The book at time t is a pure function of (seed, symbol, t): bid levels step down one tick from the mid's bid tick,
ask levels step up from the next tick, and each level's quantity is a hash of (symbol key, price tick, refresh epoch).
A level's epoch advances every LEVEL_REFRESH_S seconds at a phase of its own, so between two instants only some levels
change: the set of changed levels between consecutive update ids is exactly what a depth-diff stream will send.
Update ids count UPDATE_INTERVAL_US steps since the Unix epoch, so they increase with time on every symbol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamforge.sim.seeding import key64, uniform01
from streamforge.sim.symbols import SymbolSpec, decimals

UPDATE_INTERVAL_US = 100_000
LEVEL_REFRESH_S = 10


@dataclass(frozen=True)
class BookSnapshot:
    last_update_id: int
    bids: list[tuple[float, float]]  # best first
    asks: list[tuple[float, float]]


def update_id(time_us: int) -> int:
    return time_us // UPDATE_INTERVAL_US


def level_quantities(seed: int, spec: SymbolSpec, ticks: np.ndarray, time_us: int) -> np.ndarray:
    """Quantity resting at each price tick at `time_us`; deeper levels hold more."""
    key = np.uint64(key64(seed, spec.symbol, "book"))
    phase = (uniform01(ticks.astype(np.uint64) ^ key) * LEVEL_REFRESH_S).astype(np.int64)
    epoch = (time_us // 1_000_000 + phase) // LEVEL_REFRESH_S
    u = uniform01(ticks.astype(np.uint64) * np.uint64(1_000_003) ^ epoch.astype(np.uint64) ^ key)
    size = spec.median_qty * (0.2 + 4.0 * u * u)
    return np.round(np.maximum(np.rint(size / spec.step_size), 1) * spec.step_size, decimals(spec.step_size))


def snapshot(seed: int, spec: SymbolSpec, mid: float, time_us: int, limit: int) -> BookSnapshot:
    """The top `limit` levels per side at `time_us`, around `mid`."""
    best_bid = int(np.floor(mid / spec.tick_size))
    levels = np.arange(limit, dtype=np.int64)
    bid_ticks, ask_ticks = best_bid - levels, best_bid + 1 + levels
    bid_ticks = bid_ticks[bid_ticks > 0]
    price_decimals = decimals(spec.tick_size)

    def side(ticks: np.ndarray) -> list[tuple[float, float]]:
        prices = np.round(ticks * spec.tick_size, price_decimals)
        return list(zip(prices.tolist(), level_quantities(seed, spec, ticks, time_us).tolist(), strict=True))

    return BookSnapshot(update_id(time_us), side(bid_ticks), side(ask_ticks))
