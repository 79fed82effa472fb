"""What a perpetual has beyond a price: index and mark prices, funding settled from the premium, liquidations.

Binance's published rules, applied to the simulated prices (sources: the "Funding Rate" and "Mark Price in USDⓈ-M
futures" support articles, binance.com/en/support/articles/360033525031 and /faq/360033525071, and the announcement
of 2025-09-16 that changed both from 2025-09-18 08:00 UTC on):

* **Index** — the asset's spot price across the simulated spot venues that list it (equal weights).
* **Premium** — perpetual price / index - 1 (the impact bid/ask of Binance's premium index are the mid here).
* **Funding** at each settlement (every `funding_hours` from 00:00 UTC): the premium sampled every 5 s over the
  interval, averaged with weights 1..n (later samples weigh more), F = P + clamp(I - P, -0.05%, 0.05%) with interest
  I = 0.01% per interval, divided by 8 / funding_hours from 2025-09-18 08:00 UTC on, capped at ±FUNDING_CAP.
* **Mark** = median(index x (1 + last funding rate x time to the next settlement / interval), index + moving average
  of (perpetual - index) over the last 60 s (30 s from 2025-09-18 08:00 UTC), perpetual price).
* **Mark and index klines** sample those prices at every whole second of the interval (Binance updates the mark
  price every second): open is the first sample, close the last, high and low the extremes.
* **Open interest** is not modelled from positions (the simulator has none): a smooth curve around a level of about
  a third of the day's volume, with a daily and a weekly swing whose phases are drawn from the instrument.
* **Liquidations** are not in Binance's rules but in its markets: forced orders arrive at a rate that grows with the
  fourth power of the last minute's move (in standard deviations of the day's minute moves), so they cluster in fast
  moves; longs are sold in falls, shorts bought in rises. They are an event series of their own: the aggregate trades
  do not contain them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from streamforge.sim.calendar import S_PER_DAY, US_PER_MS, US_PER_S, day_start_us
from streamforge.sim.instruments import Instrument, decimals
from streamforge.sim.seeding import day_generator

US_PER_HOUR = 3_600 * US_PER_S
INTEREST = 0.0001
PREMIUM_CLAMP = 0.0005
#: Binance caps funding by the maintenance margin ratio; the simulator uses one cap for every perpetual.
FUNDING_CAP = 0.003
PREMIUM_SAMPLE_US = 5 * US_PER_S
#: From this instant funding is scaled by the interval and the mark's basis average spans 30 s instead of 60 s.
RULES_2025_09_18_US = int(datetime(2025, 9, 18, 8, tzinfo=UTC).timestamp()) * US_PER_S

#: Liquidations per aggregate trade of the day, on average, and how sharply they concentrate in fast moves.
LIQUIDATIONS_PER_AGG_TRADE = 0.001
FAST_MOVE_S = 60
CLUSTERING_POWER = 4.0
QUIET_RATE = 0.05  # relative rate in a still market, so that a calm day still has a few

LIQUIDATION = {"time": pl.Datetime("us", "UTC"), "side": pl.String, "price": pl.Float64, "qty": pl.Float64}

#: Prices of many instants (µs) at once.
PriceOf = Callable[[np.ndarray], np.ndarray]


def settlement_times(funding_hours: int, start_us: int, end_us: int) -> np.ndarray:
    """Funding settlement instants in [start_us, end_us): every `funding_hours` from 00:00 UTC."""
    step = funding_hours * US_PER_HOUR
    first = -(-start_us // step) * step
    return np.arange(first, max(end_us, first), step, dtype=np.int64)


def funding_rates(premium: PriceOf, settlements: np.ndarray, funding_hours: int) -> np.ndarray:
    """Funding rate settled at each instant, from the premium over the interval before it."""
    n = funding_hours * US_PER_HOUR // PREMIUM_SAMPLE_US
    weights = np.arange(1, n + 1, dtype=np.float64)
    samples = settlements[:, None] - funding_hours * US_PER_HOUR + weights.astype(np.int64)[None, :] * PREMIUM_SAMPLE_US
    average = (premium(samples.ravel()).reshape(samples.shape) * weights).sum(axis=1) / weights.sum()
    rate = average + np.clip(INTEREST - average, -PREMIUM_CLAMP, PREMIUM_CLAMP)
    rate = np.where(settlements >= RULES_2025_09_18_US, rate / (8 / funding_hours), rate)
    return np.round(np.clip(rate, -FUNDING_CAP, FUNDING_CAP), 8)


def mark_prices(times_us: np.ndarray, index: PriceOf, perpetual: PriceOf, premium: PriceOf, funding_hours: int) -> np.ndarray:
    """Binance's mark price at each instant (see the module docstring)."""
    step = funding_hours * US_PER_HOUR
    last_settlement = times_us // step * step
    settlements = np.unique(last_settlement)
    last_rate = funding_rates(premium, settlements, funding_hours)[np.searchsorted(settlements, last_settlement)]
    idx, perp = index(times_us), perpetual(times_us)
    price1 = idx * (1 + last_rate * (last_settlement + step - times_us) / step)
    window = np.where(times_us >= RULES_2025_09_18_US, 30, 60)
    seconds = times_us // US_PER_S * US_PER_S
    back = np.arange(60, dtype=np.int64) * US_PER_S
    samples = seconds[:, None] - back[None, :]
    basis = (perpetual(samples.ravel()) - index(samples.ravel())).reshape(samples.shape)
    in_window = back[None, :] < window[:, None] * US_PER_S
    price2 = idx + (basis * in_window).sum(axis=1) / window
    return np.median(np.stack([price1, price2, perp]), axis=0)


def price_klines(instrument_id: str, interval_us: int, start_us: int, end_us: int, price: PriceOf) -> pl.DataFrame:
    """PRICE_KLINE columns (without `interval`) for the intervals opening in [start_us, end_us) on the grid from
    00:00 UTC, from `price` sampled at every whole second."""
    opens = np.arange(-(-start_us // interval_us) * interval_us, end_us, interval_us, dtype=np.int64)
    per = interval_us // US_PER_S
    samples = price((opens[:, None] + np.arange(per, dtype=np.int64)[None, :] * US_PER_S).ravel()).reshape(-1, per)
    as_time = lambda us: pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))  # noqa: E731
    return pl.DataFrame(
        {
            "instrument": [instrument_id] * len(opens),
            "open_time": as_time(opens),
            "open": samples[:, 0] if len(opens) else [],
            "high": samples.max(axis=1) if len(opens) else [],
            "low": samples.min(axis=1) if len(opens) else [],
            "close": samples[:, -1] if len(opens) else [],
            "close_time": as_time(opens + interval_us - 1),
        },
        schema={"instrument": pl.String, "open_time": pl.Datetime("us", "UTC"), "open": pl.Float64, "high": pl.Float64,
                "low": pl.Float64, "close": pl.Float64, "close_time": pl.Datetime("us", "UTC")},
    )


def open_interest(seed: int, instrument: Instrument, times_us: np.ndarray) -> np.ndarray:
    """Open interest in the base asset at each instant (see the module docstring)."""
    rng = day_generator(seed, instrument.random_key, "open_interest", date(2017, 1, 1))
    daily, weekly = rng.uniform(0, 2 * np.pi, 2)
    level = instrument.agg_trades_per_day * instrument.median_qty / 3
    t = np.asarray(times_us, dtype=np.float64) / (S_PER_DAY * US_PER_S)
    return level * (1 + 0.05 * np.sin(2 * np.pi * t + daily) + 0.15 * np.sin(2 * np.pi * t / 7 + weekly))


def liquidations(seed: int, instrument: Instrument, day: date, log_path: np.ndarray, expected: float) -> pl.DataFrame:
    """The day's forced orders of a perpetual whose log price path (86,401 points) is `log_path`: time, side
    (SELL liquidates a long), average price and quantity; about `expected` of them."""
    rng = day_generator(seed, instrument.random_key, "liquidations", day)
    ends = np.arange(1, S_PER_DAY + 1)
    move = log_path[ends] - log_path[np.maximum(ends - FAST_MOVE_S, 0)]
    scale = max(float(np.median(np.abs(move))) / 0.6745, 1e-12)
    weights = np.abs(move / scale) ** CLUSTERING_POWER + QUIET_RATE
    n = int(rng.poisson(expected))
    second = np.repeat(np.arange(S_PER_DAY, dtype=np.int64), rng.multinomial(n, weights / weights.sum()))
    offset_us = np.sort(second * US_PER_S + rng.integers(0, US_PER_S // US_PER_MS, n) * US_PER_MS)
    second = offset_us // US_PER_S
    frac = (offset_us % US_PER_S) / US_PER_S
    price = np.exp(log_path[second] + frac * (log_path[second + 1] - log_path[second]))
    size = instrument.median_qty * rng.lognormal(0.0, 1.0, n) * (1 + np.abs(move[second] / scale))
    step = instrument.step_size
    return pl.DataFrame(
        {
            "time": pl.Series(day_start_us(day) + offset_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "side": np.where(move[second] < 0, "SELL", "BUY"),
            "price": np.round(np.round(price / instrument.tick_size) * instrument.tick_size, decimals(instrument.tick_size)),
            "qty": np.round(np.maximum(np.rint(size / step), 1) * step, decimals(step)),
        },
        schema=LIQUIDATION,
    )
