"""B3: candle aggregation — our polars ``aggregate`` against a pandas ``resample`` on the same day of trades.

1.5M synthetic aggregate trades (a busy BTCUSDT day): sorted times, a random-walk price on a 0.01 tick, lognormal
quantities on a 1e-5 step, and the first hour without trades so empty intervals are exercised. Both sides produce the
full day of candles with the same rules (empty intervals at the previous close), and the benchmark refuses to report
a speed-up unless both give the same numbers: OHLC and counts exactly, float sums to 1e-9 relative (the two libraries
add in different orders, which moves the last bits — not the 8 decimals an exchange reports).

``run(n)`` returns a dict of timings; ``python bench/b3_candles.py`` prints it as JSON.
"""

from __future__ import annotations

import json
import time
from datetime import date

import numpy as np
import pandas as pd
import polars as pl

from bench.headline import Figure
from streamforge.candles import aggregate, interval_us
from streamforge.dates import day_bounds_us

HEADLINE = (
    Figure("1-minute candles of 1.5M trades, s", "1m.polars_s", "1m.pandas_s", "pandas resample"),
    Figure("5-minute candles of 1.5M trades, s", "5m.polars_s", "5m.pandas_s", "pandas resample"),
)
DAY = date(2025, 1, 1)
_PANDAS_RULE = {"1m": "1min", "5m": "5min"}


def synthetic_trades(n: int, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start, end = day_bounds_us(DAY)
    times = np.sort(rng.integers(start + 3_600_000_000, end, n))
    price = np.round(95_000 + np.cumsum(rng.choice([-0.01, 0.0, 0.01], n)), 2)
    raw = rng.integers(1, 4, n)
    last_ids = 1_000_000 + np.cumsum(raw)
    return pl.DataFrame(
        {
            "symbol": "BTCUSDT",
            "agg_id": np.arange(n, dtype=np.int64),
            "price": price,
            "qty": np.maximum(np.round(rng.lognormal(-6, 1.5, n), 5), 1e-5),
            "first_trade_id": last_ids - raw + 1,
            "last_trade_id": last_ids,
            "time": times,
            "is_buyer_maker": rng.random(n) < 0.5,
            "is_best_match": True,
            "contract_size": None,
        }
    ).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))


def pandas_candles(trades: pd.DataFrame, interval: str) -> pd.DataFrame:
    """The textbook pandas way: resample for OHLC and sums, reindex to the whole day, carry the close forward."""
    t = trades.set_index("time")
    t["quote"] = t["price"] * t["qty"]
    taker = ~t["is_buyer_maker"]
    t["taker_base"] = t["qty"].where(taker, 0.0)
    t["taker_quote"] = t["quote"].where(taker, 0.0)
    t["raw"] = t["last_trade_id"] - t["first_trade_id"] + 1
    resampled = t.resample(_PANDAS_RULE[interval])
    sums = ["qty", "quote", "raw", "taker_base", "taker_quote"]
    out = resampled["price"].ohlc().join(resampled[sums].sum())
    start = pd.Timestamp(DAY, tz="UTC")
    out = out.reindex(pd.date_range(start, start + pd.Timedelta(days=1), freq=_PANDAS_RULE[interval], inclusive="left"))
    out["close"] = out["close"].ffill().fillna(t["price"].iloc[0])
    for col in ("open", "high", "low"):
        out[col] = out[col].fillna(out["close"])
    out[sums] = out[sums].fillna(0)
    out["vwap"] = (out["quote"] / out["qty"]).where(out["qty"] > 0, out["close"])
    return out.rename(
        columns={
            "qty": "volume",
            "quote": "quote_volume",
            "raw": "trade_count",
            "taker_base": "taker_buy_base_volume",
            "taker_quote": "taker_buy_quote_volume",
        }
    )


def assert_same(ours: pl.DataFrame, theirs: pd.DataFrame, interval: str) -> None:
    assert ours.height == len(theirs) == 86_400_000_000 // interval_us(interval), (ours.height, len(theirs))
    expected_open = theirs.index.as_unit("us").asi8
    assert np.array_equal(ours["open_time"].dt.epoch("us").to_numpy(), expected_open)
    for col in ("open", "high", "low", "close", "trade_count"):
        assert np.array_equal(ours[col].to_numpy(), theirs[col].to_numpy()), col
    for col in ("volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume", "vwap"):
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-9, atol=0, err_msg=col)


def _best_of(repeats: int, fn):
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def run(n: int = 1_500_000, repeats: int = 15) -> dict:
    trades = synthetic_trades(n)
    trades_pd = trades.to_pandas()
    report: dict = {"benchmark": "b3_candles", "trades": n, "repeats": repeats}
    for interval in ("1m", "5m"):
        ours_s, ours = _best_of(repeats, lambda: aggregate(trades, interval, DAY))
        pandas_s, theirs = _best_of(repeats, lambda: pandas_candles(trades_pd, interval))
        assert_same(ours, theirs, interval)
        report[interval] = {
            "polars_s": round(ours_s, 4),
            "pandas_s": round(pandas_s, 4),
            "speedup": round(pandas_s / ours_s, 1),
            "candles": ours.height,
            "identical": True,
        }
    return report


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
