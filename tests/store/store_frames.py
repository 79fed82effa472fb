"""Deterministic frames for the store tests (a plain module, so child processes can build the same data)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from streamforge.schemas import AGG_TRADE
from streamforge.dates import day_bounds_us


def agg_trades(instrument: str, day: date, n: int, seed: int = 0, first_id: int = 1) -> pl.DataFrame:
    """``n`` aggregate trades of ``instrument`` spread over ``day``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    start, end = day_bounds_us(day)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    return AGG_TRADE.conform(
        pl.DataFrame(
            {
                "instrument": instrument,
                "agg_id": ids,
                "price": np.round(100 + rng.normal(0, 1, n), 2),
                "qty": np.round(rng.exponential(1, n), 5),
                "first_trade_id": ids * 2,
                "last_trade_id": ids * 2 + 1,
                "time": np.sort(rng.integers(start, end, n)),
                "is_buyer_maker": rng.random(n) < 0.5,
                "is_best_match": True,
                "contract_size": None,
            }
        ).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))
    )
