"""SYNTHETIC candles of a universe of instruments, for B5's scale cases (50 and 200 instruments), generated in a few
vectorised numpy/polars steps — not the simulator, which lists 7 symbols and builds candles from individual trades.

What it keeps of a market, because the graph and its training cost depend on it: 1-minute log returns with a shared,
slowly varying volatility and an intraday cycle; a few leaders, every other instrument following one of them a
whole number of minutes later (1..9 minutes: off the 5-minute grid for most) plus its own noise; volumes and trade
counts that rise with volatility. Every row is labelled synthetic by its instruments (binance.spot.SYN000USDT, ...).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from streamforge.dates import day_bounds_us
from streamforge.schemas import CANDLE

MINUTES_PER_DAY = 1440
LEADERS = 4


def symbols(n: int) -> list[str]:
    return [f"binance.spot.SYN{i:03d}USDT" for i in range(n)]


def candles(n: int, first_day: date, days: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(5-minute candles, 1-minute candles) of n synthetic instruments over `days` UTC days."""
    rng = np.random.default_rng(seed)
    minutes = days * MINUTES_PER_DAY
    t = np.arange(minutes)
    season = 1.0 + 0.4 * np.cos(2 * np.pi * (t % MINUTES_PER_DAY / MINUTES_PER_DAY - 14 / 24))
    window = 240  # four-hour volatility regimes
    log_vol = np.convolve(rng.standard_normal(minutes + window), np.ones(window) / np.sqrt(window), "valid")[:minutes]
    sigma = 8e-4 * np.exp(0.4 * log_vol) * np.sqrt(season)
    pad = 10
    leader_returns = sigma * rng.standard_normal((LEADERS, minutes + pad))[:, pad:]
    padded = np.concatenate([np.tile(sigma[:1], (LEADERS, pad)) * rng.standard_normal((LEADERS, pad)), leader_returns], axis=1)
    returns = np.empty((n, minutes))
    returns[: min(n, LEADERS)] = leader_returns[: min(n, LEADERS)]
    for i in range(LEADERS, n):
        leader, lag = i % LEADERS, 1 + (i * 7) % 9
        returns[i] = padded[leader, pad - lag : pad - lag + minutes] + 0.8 * sigma * rng.standard_normal(minutes)
    open_price = 10 ** rng.uniform(-1, 4, size=(n, 1))
    close = open_price * np.exp(np.cumsum(returns, axis=1))
    opened = np.concatenate([open_price, close[:, :-1]], axis=1)
    wick = np.abs(rng.standard_normal((2, n, minutes))) * sigma * 0.5
    high = np.maximum(opened, close) * np.exp(wick[0])
    low = np.minimum(opened, close) * np.exp(-wick[1])
    activity = np.abs(returns) / sigma + 0.5
    volume = rng.lognormal(0.0, 0.5, (n, minutes)) * activity * 1000 / open_price
    trades = rng.poisson(20 * activity).astype(np.int64) + 1
    taker = np.clip(0.5 + 2 * returns / sigma * 0.05, 0.05, 0.95)
    start_us, _ = day_bounds_us(first_day)
    open_us = start_us + t * 60_000_000
    vwap = (opened + close + high + low) / 4
    one = pl.DataFrame(
        {
            "instrument": np.repeat(symbols(n), minutes),
            "interval": "1m",
            "open_time": np.tile(open_us, n),
            "open": opened.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
            "close_time": np.tile(open_us + 60_000_000 - 1, n),
            "quote_volume": (volume * vwap).ravel(),
            "trade_count": trades.ravel(),
            "taker_buy_base_volume": (volume * taker).ravel(),
            "taker_buy_quote_volume": (volume * taker * vwap).ravel(),
            "vwap": vwap.ravel(),
        }
    ).with_columns(pl.col("open_time", "close_time").cast(pl.Datetime("us", "UTC")))
    five = (
        one.group_by("instrument", pl.col("open_time").dt.truncate("5m"), maintain_order=True)
        .agg(
            pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last(),
            pl.col("volume").sum(), pl.col("quote_volume").sum(), pl.col("trade_count").sum(),
            pl.col("taker_buy_base_volume").sum(), pl.col("taker_buy_quote_volume").sum(),
        )
        .with_columns(
            interval=pl.lit("5m"),
            close_time=pl.col("open_time") + pl.duration(microseconds=300_000_000 - 1),
            vwap=pl.col("quote_volume") / pl.col("volume"),
        )
    )
    return CANDLE.conform(five), CANDLE.conform(one)
