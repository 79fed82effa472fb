"""The basis of a perpetual: its price beside its spot instrument's, per interval, with what drives and follows it.

One row per 5-minute interval of the day: the two candle closes and their difference (in price and in basis points
of spot), the mark and index prices at the interval's end, the funding rate in force (the last one settled at or
before the interval's start) and the settlement that ends its funding interval — so a reader can ask whether the
rate settled there follows the basis over the interval — and the open interest at the interval's end (the latest
sample at or before it; null where the exchange serves none).
"""

from __future__ import annotations

import polars as pl

from streamforge.candles import interval_us
from streamforge.errors import InsufficientDataError
from streamforge.schemas import BASIS

HOUR_US = 3_600_000_000


def basis(
    perp: pl.DataFrame,
    spot: pl.DataFrame,
    mark: pl.DataFrame,
    index: pl.DataFrame,
    funding: pl.DataFrame,
    open_interest: pl.DataFrame,
    funding_hours: int,
    interval: str = "5m",
) -> pl.DataFrame:
    """BASIS rows from a day's perp and spot candles of `interval`, 1-minute mark and index klines, funding
    settlements (this day's and any before) and open interest samples; InsufficientDataError naming what is missing
    when a perp interval has no spot candle."""
    step = interval_us(interval)
    spot_instrument = spot["instrument"][0] if spot.height else None
    pair = perp.select("instrument", "interval", "open_time", "close").join(
        spot.select("open_time", spot_close="close"), on="open_time", how="left"
    )
    lacking = pair.filter(pl.col("spot_close").is_null())
    if lacking.height or spot_instrument is None:
        first = lacking["open_time"][0] if lacking.height else pair["open_time"][0] if pair.height else None
        raise InsufficientDataError(
            f"basis of {perp['instrument'][0] if perp.height else 'the perpetual'}: no spot {interval} candle "
            f"for {lacking.height or pair.height} intervals (first {first}); load the spot instrument's candles first"
        )
    end_of = lambda klines, name: (  # noqa: E731  the close of the last minute of each interval
        klines.sort("open_time")
        .group_by(pl.col("open_time").dt.truncate(interval).alias("open_time"))
        .agg(pl.col("close").last().alias(name))
    )
    at_close = (pl.col("open_time").dt.epoch("us") + step).cast(pl.Datetime("us", "UTC")).alias("at_close")
    settled = funding.sort("funding_time").select("funding_time", "funding_rate")
    oi = open_interest.sort("time").select("time", "open_interest", "open_interest_value")
    funding_step = funding_hours * HOUR_US
    frame = (
        pair.with_columns(spot_instrument=pl.lit(spot_instrument))
        .join(end_of(mark, "mark_price"), on="open_time", how="left")
        .join(end_of(index, "index_price"), on="open_time", how="left")
        .sort("open_time")
        .join_asof(settled, left_on="open_time", right_on="funding_time", strategy="backward")
        .with_columns(at_close)
        .join_asof(oi, left_on="at_close", right_on="time", strategy="backward", tolerance=f"{step}us")
        .with_columns(
            basis=pl.col("close") - pl.col("spot_close"),
            basis_bps=(pl.col("close") / pl.col("spot_close") - 1) * 1e4,
            next_funding_time=((pl.col("open_time").dt.epoch("us") // funding_step + 1) * funding_step).cast(
                pl.Datetime("us", "UTC")
            ),
        )
    )
    unpriced = frame.filter(pl.col("mark_price").is_null() | pl.col("index_price").is_null())
    if unpriced.height:
        raise InsufficientDataError(
            f"basis of {frame['instrument'][0]}: no mark or index price for {unpriced.height} intervals (first "
            f"{unpriced['open_time'][0]}); load its mark_price_1m and index_price_1m first"
        )
    return BASIS.conform(frame.select(BASIS.names))
