"""A deterministic order book around the simulated mid price: REST depth snapshots and the depth-diff stream.

The book has one state per update id k (a 100 ms step since the Unix epoch, so ids increase with time on every
instrument); state k is a pure function of (seed, instrument, k):
* bid levels sit at every tick from the best bid (the mid's tick at time k * 100 ms) down, asks at every tick above;
* each level's quantity is a hash of (instrument key, price tick, refresh epoch). A level's epoch advances every
  LEVEL_REFRESH_S seconds at a phase of its own, so between two instants only some levels change.

The diff stream (`diff`) tells a client how to go from state a to state b, the way Binance's depthUpdate does: the
levels that changed, with their quantity at b (0 removes). It covers the top `window` levels of each side — a client
keeping a book from a snapshot of at least `window` levels has those levels exactly right — plus every level that
crossed to the other side, however deep, so no stale level can ever sit inside the spread. Steps are merged, so one
event may span many ids (U..u) and applying it to any state between U-1 and u gives state u, as Binance promises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamforge.sim.seeding import key64, uniform01
from streamforge.sim.instruments import Instrument, decimals

UPDATE_INTERVAL_US = 100_000
LEVEL_REFRESH_S = 10
US_PER_S = 1_000_000

Levels = list[tuple[float, float]]


@dataclass(frozen=True)
class BookSnapshot:
    last_update_id: int
    bids: Levels  # best first
    asks: Levels


@dataclass(frozen=True)
class DepthDiff:
    """Changes from state first_update_id - 1 to state final_update_id (Binance's U and u)."""

    first_update_id: int
    final_update_id: int
    bids: Levels
    asks: Levels


def update_id(time_us: int) -> int:
    return time_us // UPDATE_INTERVAL_US


def update_time_us(update: int) -> int:
    """The instant whose market state update id `update` holds."""
    return update * UPDATE_INTERVAL_US


def level_quantities(seed: int, spec: Instrument, ticks: np.ndarray, time_us: int) -> np.ndarray:
    """Quantity resting at each price tick at `time_us`; deeper levels hold more."""
    key = np.uint64(key64(seed, spec.random_key, "book"))
    phase = (uniform01(ticks.astype(np.uint64) ^ key) * LEVEL_REFRESH_S).astype(np.int64)
    epoch = (time_us // 1_000_000 + phase) // LEVEL_REFRESH_S
    u = uniform01(ticks.astype(np.uint64) * np.uint64(1_000_003) ^ epoch.astype(np.uint64) ^ key)
    size = spec.median_qty * (0.2 + 4.0 * u * u)
    return np.round(np.maximum(np.rint(size / spec.step_size), 1) * spec.step_size, decimals(spec.step_size))


def best_bid_tick(spec: Instrument, mid: float) -> int:
    return int(np.floor(mid / spec.tick_size))


def _side_ticks(best_bid: int, side: str, count: int) -> np.ndarray:
    levels = np.arange(count, dtype=np.int64)
    ticks = best_bid - levels if side == "bid" else best_bid + 1 + levels
    return ticks[ticks > 0]


def _levels(spec: Instrument, ticks: np.ndarray, quantities: np.ndarray) -> Levels:
    prices = np.round(ticks * spec.tick_size, decimals(spec.tick_size))
    return list(zip(prices.tolist(), quantities.tolist(), strict=True))


def snapshot(seed: int, spec: Instrument, mid: float, update: int, limit: int) -> BookSnapshot:
    """The top `limit` levels per side of state `update`, whose mid is `mid`."""
    best, time_us = best_bid_tick(spec, mid), update_time_us(update)
    bid_ticks, ask_ticks = _side_ticks(best, "bid", limit), _side_ticks(best, "ask", limit)
    return BookSnapshot(
        update,
        _levels(spec, bid_ticks, level_quantities(seed, spec, bid_ticks, time_us)),
        _levels(spec, ask_ticks, level_quantities(seed, spec, ask_ticks, time_us)),
    )


def _step(seed: int, spec: Instrument, best: tuple[int, int], times: tuple[int, int], window: int, side: str) -> dict[int, float]:
    """Levels of one side that change from one state (best bid tick, time) to the next: tick -> new quantity."""
    (best_prev, best_now), (t_prev, t_now) = best, times
    changes: dict[int, float] = {}
    # Levels that crossed to the other side leave this one, however deep they were.
    crossed = range(best_now + 1, best_prev + 1) if side == "bid" else range(best_prev + 1, best_now + 1)
    changes.update(dict.fromkeys(crossed, 0.0))
    ticks = _side_ticks(best_now, side, window)
    if side == "bid":
        entered = (ticks > best_prev) | (ticks <= best_prev - window)
    else:
        entered = (ticks <= best_prev) | (ticks > best_prev + window)
    if t_prev // US_PER_S != t_now // US_PER_S:  # quantities only change when a second starts
        now = level_quantities(seed, spec, ticks, t_now)
        changed = entered | (now != level_quantities(seed, spec, ticks, t_prev))
        changes.update(zip(ticks[changed].tolist(), now[changed].tolist(), strict=True))
    elif entered.any():
        fresh = ticks[entered]
        changes.update(zip(fresh.tolist(), level_quantities(seed, spec, fresh, t_now).tolist(), strict=True))
    return changes


def diff(seed: int, spec: Instrument, best_bids: list[int], first: int, window: int) -> DepthDiff:
    """The merged changes over states first-1 .. first+len(best_bids)-2, given each state's best bid tick."""
    merged: dict[str, dict[int, float]] = {"bid": {}, "ask": {}}
    for i in range(1, len(best_bids)):
        best = (best_bids[i - 1], best_bids[i])
        times = (update_time_us(first + i - 2), update_time_us(first + i - 1))
        for side in merged:
            merged[side].update(_step(seed, spec, best, times, window, side))

    def levels(side: str) -> Levels:
        ticks = np.fromiter(merged[side], dtype=np.int64, count=len(merged[side]))
        return _levels(spec, ticks, np.fromiter(merged[side].values(), dtype=np.float64, count=len(ticks)))

    return DepthDiff(first, first + len(best_bids) - 2, levels("bid"), levels("ask"))
