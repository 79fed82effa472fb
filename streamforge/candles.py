"""Candles (klines) from aggregate trades, with Binance's kline semantics, in one vectorised polars pass.

Binance rules this module reproduces (see docs binance.md):
- a candle is identified by its open time; close_time is the next open time minus one unit (1 µs here);
- open/high/low/close follow the trades in time order, which is aggregate-id order;
- trade_count counts *raw* trades: an aggregate trade covers ``last_trade_id - first_trade_id + 1`` of them;
- "taker buy" volumes are those of trades whose buyer was the taker, i.e. ``is_buyer_maker == False``;
- every interval of the day has a candle, also without trades: zero volume and count, OHLC at the previous close.
Our candles add ``vwap = quote_volume / volume`` (the previous close for an empty interval).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from streamforge.errors import ConfigError, MalformedDataError
from streamforge.schemas import AGG_TRADE, CANDLE, INSTRUMENT
from streamforge.dates import day_bounds_us

_MINUTE_US = 60_000_000
INTERVAL_US: dict[str, int] = {
    "1m": _MINUTE_US,
    "3m": 3 * _MINUTE_US,
    "5m": 5 * _MINUTE_US,
    "15m": 15 * _MINUTE_US,
    "30m": 30 * _MINUTE_US,
    "1h": 60 * _MINUTE_US,
    "1d": 1440 * _MINUTE_US,
}


def interval_us(interval: str) -> int:
    try:
        return INTERVAL_US[interval]
    except KeyError:
        raise ConfigError(f"candle interval {interval!r} is not supported; use one of {list(INTERVAL_US)}") from None


def candles_per_day(interval: str) -> int:
    return 86_400_000_000 // interval_us(interval)


def aggregate(
    trades: pl.DataFrame, interval: str, day: date, prev_close: float | Mapping[str, float] | None = None
) -> pl.DataFrame:
    """All candles of ``day`` (UTC) for every instrument in ``trades`` (AGG_TRADE rows of that day) → CANDLE frame.

    ``prev_close`` is the last price before the day (one float, or a instrument → price mapping when ``trades`` holds
    several instruments); it fills the intervals before the day's first trade. When it is None (or the mapping lacks the
    instrument) those leading empty candles take the day's *first trade price* instead — a guess the exchange would not
    make, so the caller should record that it happened (``prev_close is None`` and the first candle has no trade).
    Pure: the result depends on the arguments only. Raises MalformedDataError for trades outside the day.
    """
    interval_us(interval)  # refuse an unknown interval before any work
    day_start, day_end = day_bounds_us(day)
    trades = AGG_TRADE.conform(trades)
    times = trades["time"].dt.epoch("us")
    if trades.height and (times.min() < day_start or times.max() >= day_end):  # two passes, no filtered copy
        time_us = pl.col("time").dt.epoch("us")
        outside = trades.filter((time_us < day_start) | (time_us >= day_end))
        raise MalformedDataError(
            f"{outside.height} trades are not in {day.isoformat()} UTC (first: {outside['instrument'][0]} agg id "
            f"{outside['agg_id'][0]} at {outside['time'][0]}); aggregate one day at a time"
        )
    if trades.is_empty():
        return CANDLE.empty()
    instruments = trades[INSTRUMENT]
    if instruments.min() == instruments.max():  # the usual case, one partition: skip partition_by's hashing
        by_instrument = {instruments[0]: trades}
    else:
        by_instrument = {instrument: frame for (instrument,), frame in trades.partition_by(INSTRUMENT, as_dict=True).items()}
    if isinstance(prev_close, float | int) and len(by_instrument) > 1:
        raise ConfigError(f"one prev_close for {len(by_instrument)} instruments is ambiguous; pass a instrument → close mapping")
    frames = [
        _instrument_candles(
            instrument_trades,
            interval,
            day,
            prev_close.get(instrument) if isinstance(prev_close, Mapping) else prev_close,
        )
        for instrument, instrument_trades in sorted(by_instrument.items())
    ]
    return CANDLE.conform(pl.concat(frames))


def _instrument_candles(trades: pl.DataFrame, interval: str, day: date, prev_close: float | None) -> pl.DataFrame:
    """The day's candles of one instrument whose (non-empty) trades are given.

    A candle is identified by ``bucket = time // interval`` (µs since the epoch): days start on a multiple of every
    supported interval, so ``bucket * interval`` is the open time.
    """
    step = interval_us(interval)
    day_start, day_end = day_bounds_us(day)
    if not trades["agg_id"].is_sorted():
        trades = trades.sort("agg_id")
    bucket = pl.col("time").dt.epoch("us") // step
    if trades["time"].is_sorted():
        # Times follow agg ids (they do on Binance), so buckets come in runs: flagging them sorted lets polars group
        # the runs instead of hashing every row — most of the speed of this function. Unsorted times hash.
        bucket = bucket.set_sorted()
    taker = ~pl.col("is_buyer_maker")
    traded = (
        trades.lazy()
        .with_columns(bucket=bucket, quote=pl.col("price") * pl.col("qty"))
        .group_by("bucket")
        .agg(
            open=pl.col("price").first(),
            high=pl.col("price").max(),
            low=pl.col("price").min(),
            close=pl.col("price").last(),
            volume=pl.col("qty").sum(),
            quote_volume=pl.col("quote").sum(),
            trade_count=pl.col("last_trade_id").sum() - pl.col("first_trade_id").sum() + pl.len(),  # Σ(last-first+1)
            taker_buy_base_volume=pl.when(taker).then(pl.col("qty")).otherwise(0.0).sum(),
            taker_buy_quote_volume=pl.when(taker).then(pl.col("quote")).otherwise(0.0).sum(),
        )
        .collect()
    )
    before_day = trades["price"][0] if prev_close is None else prev_close
    # An empty interval's OHLC is the close of the last candle before it: the forward-filled close.
    carried = pl.col("close").forward_fill().fill_null(before_day)
    open_time = pl.col("bucket") * step
    grid = pl.DataFrame({"bucket": pl.int_range(day_start // step, day_end // step, eager=True)})
    return (
        grid.join(traded, on="bucket", how="left", maintain_order="left")
        .with_columns(carried=carried)
        .with_columns(
            pl.col("open", "high", "low", "close").fill_null(pl.col("carried")),
            pl.col("volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume").fill_null(0.0),
            pl.col("trade_count").fill_null(0),
            instrument=pl.lit(trades[INSTRUMENT][0]),
            interval=pl.lit(interval),
            open_time=open_time.cast(pl.Datetime("us", "UTC")),
            close_time=(open_time + (step - 1)).cast(pl.Datetime("us", "UTC")),
        )
        .with_columns(
            vwap=pl.when(pl.col("volume") > 0)
            .then(pl.col("quote_volume") / pl.col("volume"))
            .otherwise(pl.col("close"))
        )
        .select(CANDLE.names)
    )
