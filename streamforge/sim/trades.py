"""Aggregate trades of one (instrument, day), generated in one vectorised pass from the day's price path.

Ids first: how many aggregate and raw trades a day has is a cheap per-day function (`DailyCounts`), computed for all
days at once, so the first ids of any day are cumulative sums of the days before it. Ids are therefore contiguous
per instrument across days without generating those days. Days before the instrument's listing and from its
delisting on have none.

Then the day itself:
* arrival intensity per second = seasonality x local volatility x a bursty lognormal AR(1) (trades cluster when
  the price moves and in short bursts); the day's exact count is spread over seconds with a multinomial;
* each trade takes the mid price of its instant, rounded down to the bid tick, one tick up when the taker buys; the
  taker buys more often in rising seconds, so order flow and returns agree;
* extra raw trades (fills) are spread over the aggregates uniformly (a multinomial), and the quantity grows with the
  number of fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from streamforge.schemas import AGG_TRADE, INSTRUMENT
from streamforge.sim.calendar import EPOCH, N_DAYS, S_PER_DAY, US_PER_S, day_index, day_start_us
from streamforge.sim.instruments import Instrument, decimals
from streamforge.sim.prices import ar1, seasonality
from streamforge.sim.seeding import day_generator, generator

#: Saturdays and Sundays are quieter.
WEEKEND_ACTIVITY = 0.7
#: Raw trades per aggregate trade, on average (Binance BTCUSDT: ~2-3).
FILLS_PER_AGG = 2.5
#: Bursts of trade arrivals: (half-life in seconds, standard deviation) of the log-intensity AR(1).
BURSTS = (15.0, 0.8)
#: Seconds over which local volatility is measured to modulate arrival intensity.
LOCAL_VOL_WINDOW_S = 60


@dataclass(frozen=True)
class DailyCounts:
    """Aggregate and raw trade counts of every day since EPOCH, and the first ids of each day."""

    agg: np.ndarray
    raw: np.ndarray
    first_agg_id: np.ndarray
    first_trade_id: np.ndarray

    @classmethod
    def generate(cls, seed: int, instrument: Instrument, volume: float) -> DailyCounts:
        rng = generator(seed, instrument.random_key, "daily-counts")
        weekday = (np.arange(N_DAYS) + EPOCH.weekday()) % 7
        activity = np.where(weekday >= 5, WEEKEND_ACTIVITY, 1.0) * rng.lognormal(0.0, 0.25, N_DAYS)
        agg = np.rint(instrument.agg_trades_per_day * volume * activity).astype(np.int64)
        days = np.arange(N_DAYS)
        if instrument.listed is not None:
            agg[days < day_index(instrument.listed)] = 0
        if instrument.delisted is not None:
            agg[days >= day_index(instrument.delisted)] = 0
        extra = np.rint(agg * (FILLS_PER_AGG - 1) * rng.lognormal(0.0, 0.2, N_DAYS)).astype(np.int64)
        raw = agg + extra
        return cls(
            agg=agg,
            raw=raw,
            first_agg_id=np.concatenate([[0], np.cumsum(agg)[:-1]]),
            first_trade_id=np.concatenate([[0], np.cumsum(raw)[:-1]]),
        )

    def day_of_agg_id(self, agg_id: int) -> int:
        """Index of the day holding `agg_id` (ids past the last generated day map past the end)."""
        return int(np.searchsorted(self.first_agg_id, agg_id, side="right")) - 1


def arrival_weights(seed: int, key: str, day: date, returns: np.ndarray) -> np.ndarray:
    """Relative trade intensity per second of the day (unnormalised)."""
    squared = np.concatenate([[0.0], np.cumsum(returns * returns)])
    lo = np.clip(np.arange(S_PER_DAY) - LOCAL_VOL_WINDOW_S // 2, 0, S_PER_DAY)
    hi = np.clip(np.arange(S_PER_DAY) + LOCAL_VOL_WINDOW_S // 2, 0, S_PER_DAY)
    local_var = (squared[hi] - squared[lo]) / (hi - lo)
    local_vol = np.sqrt(local_var / max(local_var.mean(), 1e-300))
    half_life, std = BURSTS
    bursts = np.exp(ar1(seed, key, "bursts", day, half_life, std))
    return seasonality() * (0.3 + local_vol) * bursts


def generate_day(
    seed: int,
    instrument: Instrument,
    day: date,
    counts: DailyCounts,
    log_path: np.ndarray,
    returns: np.ndarray,
    time_unit_us: int,
) -> pl.DataFrame:
    """The day's aggregate trades as an AGG_TRADE frame (empty when the day has no trades), with times in whole
    `time_unit_us` (1 or 1000: Binance spot's µs from 2025, ms before and on the other markets)."""
    i = day_index(day)
    n = int(counts.agg[i])
    if n == 0:
        return AGG_TRADE.empty()
    rng = day_generator(seed, instrument.random_key, "trades", day)

    weights = arrival_weights(seed, instrument.random_key, day, returns)
    per_second = rng.multinomial(n, weights / weights.sum())
    second = np.repeat(np.arange(S_PER_DAY, dtype=np.int64), per_second)
    offset = rng.integers(0, US_PER_S // time_unit_us, n) * time_unit_us
    offset_us = np.sort(second * US_PER_S + offset)
    second = offset_us // US_PER_S

    frac = (offset_us % US_PER_S) / US_PER_S
    mid = np.exp(log_path[second] + frac * (log_path[second + 1] - log_path[second]))
    move = returns[second] / max(float(np.std(returns)), 1e-300)
    taker_buys = rng.random(n) < 0.5 + 0.3 * np.tanh(move)
    ticks = np.floor(mid / instrument.tick_size) + taker_buys
    price = np.round(ticks * instrument.tick_size, decimals(instrument.tick_size))

    fills = 1 + np.bincount(rng.integers(0, n, int(counts.raw[i] - n)), minlength=n)
    size = instrument.median_qty * fills * rng.lognormal(0.0, 0.9, n)
    qty = np.round(np.maximum(np.rint(size / instrument.step_size), 1) * instrument.step_size, decimals(instrument.step_size))

    last_trade_id = counts.first_trade_id[i] + np.cumsum(fills) - 1
    return pl.DataFrame(
        {
            INSTRUMENT: pl.repeat(instrument.id, n, eager=True),
            "agg_id": np.arange(counts.first_agg_id[i], counts.first_agg_id[i] + n, dtype=np.int64),
            "price": price,
            "qty": qty,
            "first_trade_id": last_trade_id - fills + 1,
            "last_trade_id": last_trade_id,
            "time": pl.Series(day_start_us(day) + offset_us).cast(pl.Datetime("us", "UTC")),
            "is_buyer_maker": ~taker_buys,
            "is_best_match": np.ones(n, dtype=bool),
            "contract_size": pl.repeat(None, n, dtype=pl.Float64, eager=True),
        }
    )
