"""Candles and trades of a window of the simulated market, for tests, the benchmark and the demo.

The simulator's klines have Binance's kline columns; our CANDLE adds vwap = quote_volume / volume (the close, which
is the previous close, for an interval without trades), exactly as `streamforge.candles.aggregate` defines it.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.sim.market import Market
from streamforge.dates import day_bounds_us


def sim_window(
    market: Market, instruments: list[str], first_day: date, days: int, with_trades: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(5-minute candles, 1-minute candles, trades or None) of `days` UTC days from `first_day`."""
    start_us, _ = day_bounds_us(first_day)
    _, end_us = day_bounds_us(first_day + timedelta(days=days - 1))
    candles = {
        interval: pl.concat([_candles(market.klines(s, interval, start_us, end_us)) for s in instruments])
        for interval in ("5m", "1m")
    }
    trades = None
    if with_trades:
        trades = AGG_TRADE.conform(
            pl.concat([market.day_trades(s, first_day + timedelta(days=d)) for s in instruments for d in range(days)])
        )
    return candles["5m"], candles["1m"], trades


def _candles(klines: pl.DataFrame) -> pl.DataFrame:
    vwap = pl.when(pl.col("volume") > 0).then(pl.col("quote_volume") / pl.col("volume")).otherwise(pl.col("close"))
    return CANDLE.conform(klines.with_columns(vwap=vwap))

