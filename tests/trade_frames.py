"""Builders of small, exact AGG_TRADE frames for the candle and check tests.

Prices are multiples of 1/4 and quantities multiples of 1/256 in the hypothesis strategies, so every product and
sum is exact in float64 and the tests can demand equality instead of tolerances.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import strategies as st

from streamforge.schemas import AGG_TRADE
from streamforge.dates import day_bounds_us

DAY = date(2025, 1, 1)
DAY_START_US = day_bounds_us(DAY)[0]
MINUTE_US = 60_000_000


def trades_frame(
    offsets_us: list[int],
    prices: list[float],
    qtys: list[float],
    *,
    instrument: str = "binance.spot.BTCUSDT",
    day: date = DAY,
    first_agg_id: int = 1000,
    raw_counts: list[int] | None = None,
    buyer_maker: list[bool] | None = None,
) -> pl.DataFrame:
    """Trades at ``offsets_us`` from the day's start (in agg-id order), with contiguous agg and raw trade ids."""
    n = len(offsets_us)
    raw_counts = raw_counts or [1] * n
    last_ids, total = [], 50_000
    for count in raw_counts:
        total += count
        last_ids.append(total)
    return AGG_TRADE.conform(
        pl.DataFrame(
            {
                "instrument": [instrument] * n,
                "agg_id": list(range(first_agg_id, first_agg_id + n)),
                "price": [float(p) for p in prices],
                "qty": [float(q) for q in qtys],
                "first_trade_id": [last - count + 1 for last, count in zip(last_ids, raw_counts)],
                "last_trade_id": last_ids,
                "time": [day_bounds_us(day)[0] + o for o in offsets_us],
                "is_buyer_maker": buyer_maker or [False] * n,
                "is_best_match": [True] * n,
                "contract_size": [None] * n,
            },
            schema_overrides={"time": pl.Int64},
        ).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))
    )


@st.composite
def day_of_trades(draw, max_trades: int = 60, instrument: str = "binance.spot.BTCUSDT") -> pl.DataFrame:
    """A random day of trades: sorted times (some crowded into a few minutes), exact prices and quantities."""
    n = draw(st.integers(1, max_trades))
    minute = st.one_of(st.integers(0, 1439), st.sampled_from([0, 1, 4, 5, 719, 1439]))
    offsets = sorted(
        draw(minute) * MINUTE_US + draw(st.integers(0, MINUTE_US - 1)) for _ in range(n)
    )
    return trades_frame(
        offsets,
        [draw(st.integers(1, 400_000)) / 4 for _ in range(n)],
        [draw(st.integers(1, 10_000)) / 256 for _ in range(n)],
        instrument=instrument,
        first_agg_id=draw(st.integers(0, 10**9)),
        raw_counts=[draw(st.integers(1, 5)) for _ in range(n)],
        buyer_maker=[draw(st.booleans()) for _ in range(n)],
    )
