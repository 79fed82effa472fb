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
event may span many ids (U..u) and applying it to any state between U-1 and u gives state u, as Binance promises: it
holds every level that changed, entered the window or crossed at any step between, each with its quantity at state u
(0 for a level now on the other side).

`diffs` computes the diffs of many instruments at once, vectorised over instruments, steps and levels: the live
streams of a whole universe ask for one per instrument every tick. Prices and quantities are integers of 1e-8
(`UNIT`), the smallest increment Binance lists, so the wire's 8-decimal strings are made without formatting floats
one by one and the floats both the snapshot and the diffs give are the same (`units / UNIT`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamforge.errors import ConfigError
from streamforge.sim.instruments import Instrument
from streamforge.sim.seeding import key64, mix64, uniform01

UPDATE_INTERVAL_US = 100_000
LEVEL_REFRESH_S = 10
US_PER_S = 1_000_000
UNIT = 100_000_000  # prices and quantities in 1e-8
_TICK_BITS = 40  # a level's tick fits 40 bits (BTC at 1e5 with a 0.01 tick is 1e7 ticks)

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


@dataclass(frozen=True)
class Diffs:
    """The diffs of a batch of requests (`diffs`), as flat arrays of levels: request index, side (0 bid, 1 ask),
    price and quantity in units of 1e-8; bids best first, then asks best first, request by request."""

    request: np.ndarray
    side: np.ndarray
    price_units: np.ndarray
    qty_units: np.ndarray

    def of(self, index: int, first: int, final: int) -> DepthDiff:
        """Request `index` as a DepthDiff of floats."""
        mine = self.request == index
        levels = {}
        for side in (0, 1):
            at = mine & (self.side == side)
            levels[side] = list(zip((self.price_units[at] / UNIT).tolist(), (self.qty_units[at] / UNIT).tolist(), strict=True))
        return DepthDiff(first, final, levels[0], levels[1])


@dataclass(frozen=True)
class Shape:
    """What a book's levels are made of, per instrument: its random key, tick and step in units, median quantity."""

    key: np.uint64
    tick_units: int
    step_units: int
    step_size: float
    median_qty: float

    @classmethod
    def of(cls, seed: int, spec: Instrument) -> Shape:
        tick_units, step_units = _units(spec.tick_size, spec, "tick"), _units(spec.step_size, spec, "step")
        return cls(np.uint64(key64(seed, spec.random_key, "book")), tick_units, step_units, spec.step_size, spec.median_qty)


def _units(increment: float, spec: Instrument, what: str) -> int:
    units = round(increment * UNIT)
    if units < 1 or abs(units - increment * UNIT) > 1e-6 * units:
        raise ConfigError(f"{spec.id}: {what} size {increment} is not a whole number of 1e-8")
    return units


def update_id(time_us: int) -> int:
    return time_us // UPDATE_INTERVAL_US


def update_time_us(update):
    """The instant whose market state update id `update` holds (an int, or an array of them)."""
    return update * UPDATE_INTERVAL_US


def level_counts(key, step_size, median_qty, ticks: np.ndarray, time_us) -> np.ndarray:
    """Quantity resting at each price tick at `time_us`, in steps (at least one); deeper levels hold more. `key`,
    `step_size`, `median_qty` and `time_us` are scalars or arrays broadcasting against `ticks`."""
    key = np.asarray(key, dtype=np.uint64)
    phase = (uniform01(ticks.astype(np.uint64) ^ key) * LEVEL_REFRESH_S).astype(np.int64)
    epoch = (np.asarray(time_us, dtype=np.int64) // US_PER_S + phase) // LEVEL_REFRESH_S
    u = uniform01(ticks.astype(np.uint64) * np.uint64(1_000_003) ^ epoch.astype(np.uint64) ^ key)
    size = median_qty * (0.2 + 4.0 * u * u)
    return np.maximum(np.rint(size / step_size), 1).astype(np.int64)


def best_bid_ticks(spec: Instrument, mids: np.ndarray) -> np.ndarray:
    return np.floor(mids / spec.tick_size).astype(np.int64)


def _side_ticks(best_bid: int, side: str, count: int) -> np.ndarray:
    levels = np.arange(count, dtype=np.int64)
    ticks = best_bid - levels if side == "bid" else best_bid + 1 + levels
    return ticks[ticks > 0]


def _levels(shape: Shape, ticks: np.ndarray, counts: np.ndarray) -> Levels:
    return list(zip((ticks * shape.tick_units / UNIT).tolist(), (counts * shape.step_units / UNIT).tolist(), strict=True))


def snapshot(seed: int, spec: Instrument, mid: float, update: int, limit: int) -> BookSnapshot:
    """The top `limit` levels per side of state `update`, whose mid is `mid`."""
    shape, time_us = Shape.of(seed, spec), update_time_us(update)
    best = int(best_bid_ticks(spec, np.array([mid]))[0])
    sides = {}
    for side in ("bid", "ask"):
        ticks = _side_ticks(best, side, limit)
        sides[side] = _levels(shape, ticks, level_counts(shape.key, shape.step_size, shape.median_qty, ticks, time_us))
    return BookSnapshot(update, sides["bid"], sides["ask"])


def tops(shapes: list[Shape], best_bids: list[np.ndarray], times_us: list[np.ndarray]) -> list[np.ndarray]:
    """The best bid and ask of each request's states, given their best bid ticks and times (one request per
    instrument and span, all in one pass: the live streams of a universe ask every tick): per request, rows (bid
    price, bid qty, ask price, ask qty) in units of 1e-8 — the first level of each side of `snapshot`, and so the top
    a client keeping the book from the diffs has. A state whose best bid tick is not positive has no bid: zeros."""
    counts = [len(b) for b in best_bids]
    if not sum(counts):
        return [np.zeros((0, 4), dtype=np.int64) for _ in counts]
    per_row = {
        name: np.repeat(np.array([getattr(s, name) for s in shapes]), counts)
        for name in ("key", "step_size", "median_qty", "tick_units", "step_units")
    }
    bids, times = np.concatenate(best_bids), np.concatenate(times_us)
    asks = bids + 1
    sizes = [level_counts(per_row["key"], per_row["step_size"], per_row["median_qty"], ticks, times) for ticks in (bids, asks)]
    rows = np.column_stack((bids * per_row["tick_units"], sizes[0] * per_row["step_units"],
                            asks * per_row["tick_units"], sizes[1] * per_row["step_units"]))
    rows[bids < 1] = 0
    return np.split(rows, np.cumsum(counts)[:-1])


def diffs(shapes: list[Shape], best_bids: list[np.ndarray], firsts: list[int], window: int) -> Diffs:
    """The depthUpdate of each request r, from state firsts[r] - 1 to state firsts[r] + len(best_bids[r]) - 2, given
    its instrument's `shapes[r]` and the best bid tick of each of those states; all requests in one pass.

    A level is in a diff when, at some step between, it crossed to the other side, entered the top `window`, or sat
    in the top `window` while its quantity changed (quantities change only when a second starts); its value is its
    quantity at the final state, or 0 when it is on the other side there."""
    steps = np.array([len(b) - 1 for b in best_bids], dtype=np.int64)
    request = np.repeat(np.arange(len(shapes)), steps)
    ends = np.cumsum(steps + 1)
    starts = ends - steps - 1
    flat = np.concatenate(best_bids) if best_bids else np.empty(0, dtype=np.int64)
    now_at = np.concatenate([np.arange(s + 1, e) for s, e in zip(starts, ends)]) if len(shapes) else np.empty(0, dtype=np.int64)
    best_now, best_prev = flat[now_at], flat[now_at - 1]
    state_now = np.repeat(np.asarray(firsts, dtype=np.int64), steps) + (now_at - np.repeat(starts, steps)) - 1
    t_now, t_prev = update_time_us(state_now), update_time_us(state_now - 1)
    boundary = t_now // US_PER_S != t_prev // US_PER_S
    busy = boundary | (best_now != best_prev)  # a step where nothing moves changes no level
    keys = np.array([s.key for s in shapes], dtype=np.uint64)
    steps_size = np.array([s.step_size for s in shapes])
    medians = np.array([s.median_qty for s in shapes])
    touched = []  # (request, side, tick) of every level some step changed
    for side in (0, 1):
        r, now, prev, tn, tp, edge = (a[busy] for a in (request, best_now, best_prev, t_now, t_prev, boundary))
        offsets = np.arange(window, dtype=np.int64)
        ticks = now[:, None] - offsets if side == 0 else now[:, None] + 1 + offsets
        if side == 0:
            entered = (ticks > prev[:, None]) | (ticks <= prev[:, None] - window)
        else:
            entered = (ticks <= prev[:, None]) | (ticks > prev[:, None] + window)
        changed = entered.copy()
        if edge.any():
            rows = ticks[edge]
            k, step, median = keys[r[edge]][:, None], steps_size[r[edge]][:, None], medians[r[edge]][:, None]
            moved = level_counts(k, step, median, rows, tn[edge][:, None]) != level_counts(k, step, median, rows, tp[edge][:, None])
            changed[edge] |= moved
        changed &= ticks > 0
        hit = np.nonzero(changed)
        touched.append((r[hit[0]], np.full(len(hit[0]), side), ticks[hit]))
        # Levels that crossed to the other side leave this one, however deep they were.
        low, high = (now + 1, prev + 1) if side == 0 else (prev + 1, now + 1)
        spans = np.maximum(high - low, 0)
        if spans.any():
            rr = np.repeat(r, spans)
            crossed = np.repeat(low, spans) + (np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans))
            touched.append((rr, np.full(len(rr), side), crossed))
    r = np.concatenate([t[0] for t in touched])
    side = np.concatenate([t[1] for t in touched])
    ticks = np.concatenate([t[2] for t in touched])
    # One entry per level, ordered by request, side, and best first (bids by descending tick).
    ordered = np.unique(((r * 2 + side) << _TICK_BITS) | np.where(side == 0, (1 << _TICK_BITS) - 1 - ticks, ticks))
    r, side = ordered >> (_TICK_BITS + 1), (ordered >> _TICK_BITS) & 1
    low_bits = ordered & ((1 << _TICK_BITS) - 1)
    ticks = np.where(side == 0, (1 << _TICK_BITS) - 1 - low_bits, low_bits)
    final_best = np.array([b[-1] for b in best_bids], dtype=np.int64)[r] if len(r) else np.empty(0, dtype=np.int64)
    final_t = update_time_us(np.asarray(firsts, dtype=np.int64) + steps - 1)[r] if len(r) else np.empty(0, dtype=np.int64)
    counts = level_counts(keys[r], steps_size[r], medians[r], ticks, final_t)
    gone = np.where(side == 0, ticks > final_best, ticks <= final_best)
    tick_units = np.array([s.tick_units for s in shapes], dtype=np.int64)
    step_units = np.array([s.step_units for s in shapes], dtype=np.int64)
    return Diffs(r, side, ticks * tick_units[r], np.where(gone, 0, counts * step_units[r]))
