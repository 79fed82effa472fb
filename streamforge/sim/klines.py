"""Klines computed from aggregate trades, with Binance's semantics.

A kline exists for every interval, also when nothing traded: such a kline has zero volume and trade count and OHLC
at the previous close. `close_time` is the next open time minus 1 µs; `trade_count` counts raw trades
(last_trade_id - first_trade_id + 1); taker buy volume is the volume of trades whose buyer was the taker
(`is_buyer_maker == False`). Every supported interval divides a day, so a day's klines depend on that day's trades
and the previous close only.
"""

from __future__ import annotations

import polars as pl

from streamforge.schemas import INSTRUMENT, KLINE
from streamforge.sim.calendar import US_PER_DAY, US_PER_S

#: Supported intervals and their length in µs. Binance also has 3d, 1w and 1M, which span days; not simulated.
INTERVALS: dict[str, int] = {
    "1s": US_PER_S,
    "1m": 60 * US_PER_S,
    "3m": 180 * US_PER_S,
    "5m": 300 * US_PER_S,
    "15m": 900 * US_PER_S,
    "30m": 1_800 * US_PER_S,
    "1h": 3_600 * US_PER_S,
    "2h": 7_200 * US_PER_S,
    "4h": 14_400 * US_PER_S,
    "6h": 21_600 * US_PER_S,
    "8h": 28_800 * US_PER_S,
    "12h": 43_200 * US_PER_S,
    "1d": US_PER_DAY,
}


def aggregate(
    trades: pl.DataFrame, instrument: str, interval: str, grid_start_us: int, n_buckets: int, prev_close: float | None
) -> pl.DataFrame:
    """KLINE rows for `n_buckets` intervals from `grid_start_us`, from the trades inside them.

    `prev_close` is the last price before the grid; without one (nothing ever traded before), leading empty intervals
    take the first trade's price, and a grid with no trade at all and no previous close yields no klines.
    """
    return aggregate_many(trades, {instrument: prev_close}, interval, grid_start_us, n_buckets)


def aggregate_many(
    trades: pl.DataFrame, prev_closes: dict[str, float | None], interval: str, grid_start_us: int, n_buckets: int
) -> pl.DataFrame:
    """`aggregate` for several instruments on the same grid at once, each with its previous close: one query, not
    one per instrument (the simulator's open klines of a whole universe)."""
    step = INTERVALS[interval]
    t_us = pl.col("time").dt.epoch("us")
    taker_buy = ~pl.col("is_buyer_maker")
    stats = (
        trades.lazy()
        .with_columns(((t_us - grid_start_us) // step).alias("bucket"))
        .group_by(INSTRUMENT, "bucket")
        .agg(
            pl.col("price").first().alias("open"),
            pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"),
            pl.col("price").last().alias("close"),
            pl.col("qty").sum().alias("volume"),
            (pl.col("price") * pl.col("qty")).sum().alias("quote_volume"),
            (pl.col("last_trade_id") - pl.col("first_trade_id") + 1).sum().alias("trade_count"),
            pl.col("qty").filter(taker_buy).sum().alias("taker_buy_base_volume"),
            (pl.col("price") * pl.col("qty")).filter(taker_buy).sum().alias("taker_buy_quote_volume"),
        )
    )
    instruments = pl.LazyFrame(
        {INSTRUMENT: list(prev_closes), "prev_close": list(prev_closes.values())},
        schema={INSTRUMENT: pl.String, "prev_close": pl.Float64},
    )
    grid = instruments.join(pl.LazyFrame({"bucket": pl.int_range(0, n_buckets, eager=True)}), how="cross")
    carried = (
        pl.col("close").forward_fill().shift(1).over(INSTRUMENT, order_by="bucket")
        .fill_null(pl.col("prev_close"))
        .fill_null(pl.col("open").backward_fill().over(INSTRUMENT, order_by="bucket"))
    )
    klines = (
        grid.join(stats, on=[INSTRUMENT, "bucket"], how="left")
        .sort(INSTRUMENT, "bucket")
        .with_columns(carried.alias("carried"))
        .with_columns(
            [pl.col(c).fill_null(pl.col("carried")) for c in ("open", "high", "low", "close")]
            + [pl.col(c).fill_null(0) for c in ("volume", "quote_volume", "trade_count")]
            + [pl.col(c).fill_null(0) for c in ("taker_buy_base_volume", "taker_buy_quote_volume")]
        )
        .filter(pl.col("close").is_not_null())
        .with_columns(
            pl.lit(interval).alias("interval"),
            (grid_start_us + pl.col("bucket") * step).cast(pl.Datetime("us", "UTC")).alias("open_time"),
            (grid_start_us + (pl.col("bucket") + 1) * step - 1).cast(pl.Datetime("us", "UTC")).alias("close_time"),
        )
        .collect()
    )
    return KLINE.conform(klines.select(KLINE.names))
