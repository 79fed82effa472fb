"""Arrow frames from the live topics -> the few JSON-ready rows the page draws, per instrument.

This runs in the Kafka thread and is vectorised with polars, so a poll of thousands of trades costs two group-bys, not
a Python loop per trade; the event loop that serves browsers only merges the small results (views.py).

Times: trades, books, mark prices and liquidations keep µs (the page measures event age and latency with them);
candles use whole seconds, the unit of the chart library's time axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from streamforge.catalog import BOOK, LIVE_TRADES
from streamforge.schemas import INSTRUMENT

# The streams whose newest event time the page shows as "last event age", by their catalog dataset names.
TRADES, BOOK = LIVE_TRADES, BOOK
_SIDES = {"bids": "bid", "asks": "ask"}  # JSON key -> BOOK_SNAPSHOT.side


@dataclass
class Delta:
    """What one Kafka poll brought for one instrument; every list is oldest first."""

    trades: list[tuple] = field(default_factory=list)  # (time_us, price, qty, buyer_is_maker, agg_id), the newest `tape`
    trade_minutes: list[tuple] = field(default_factory=list)  # (open_s, open, high, low, close, volume) built from trades
    klines: list[tuple] = field(default_factory=list)  # (open_s, open, high, low, close, volume) from the exchange
    book: dict | None = None  # {"time": us, "bids": [[price, qty], ...], "asks": [...]}, best level first
    last: dict[str, int] = field(default_factory=dict)  # stream -> newest event time, µs
    # Perpetuals: the poll's newest mark-price record ({"time", "mark_price", "index_price", "funding_rate",
    # "next_funding_time"}, times in µs), and its newest `tape` liquidations (time_us, side, price, qty).
    mark: dict | None = None
    liquidations: list[tuple] = field(default_factory=list)


def _us(column: str) -> pl.Expr:
    return pl.col(column).dt.epoch("us")


def _per_instrument(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {instrument: part for (instrument,), part in df.partition_by(INSTRUMENT, as_dict=True, maintain_order=True).items()}


def trades(df: pl.DataFrame, tape: int) -> dict[str, Delta]:
    """AGG_TRADE rows -> the newest `tape` trades and per-minute OHLCV of all of them, per instrument. Two group-bys
    over every instrument at once: a poll holds a few dozen rows per instrument, where each polars call's fixed cost counts."""
    timed = df.select(
        INSTRUMENT, _us("time").alias("time_us"), pl.col("time").dt.truncate("1m").dt.epoch("s").alias("open_s"),
        "price", "qty", pl.col("is_buyer_maker").cast(pl.Int8), "agg_id",
    )
    minutes = timed.group_by(INSTRUMENT, "open_s", maintain_order=True).agg(
        pl.col("price").first(), pl.col("price").max().alias("high"), pl.col("price").min().alias("low"),
        pl.col("price").last().alias("close"), pl.col("qty").sum(), pl.col("time_us").max(),
    )
    deltas: dict[str, Delta] = {}
    for instrument, open_s, o, h, low, c, v, newest in minutes.iter_rows():
        delta = deltas.setdefault(instrument, Delta())
        delta.trade_minutes.append((open_s, o, h, low, c, v))
        delta.last[TRADES] = max(newest, delta.last.get(TRADES, newest))
    tails = timed.group_by(INSTRUMENT, maintain_order=True).tail(tape)
    for instrument, *trade in tails.select(INSTRUMENT, "time_us", "price", "qty", "is_buyer_maker", "agg_id").iter_rows():
        deltas[instrument].trades.append(tuple(trade))
    return deltas


def klines(df: pl.DataFrame) -> dict[str, Delta]:
    """KLINE rows -> candles per instrument (only 1-minute klines: the chart has one interval)."""
    ohlcv = [pl.col("open_time").dt.epoch("s"), "open", "high", "low", "close", "volume"]
    return {
        instrument: Delta(klines=part.select(ohlcv).rows())
        for instrument, part in _per_instrument(df.filter(pl.col("interval") == "1m")).items()
    }


def book(df: pl.DataFrame) -> dict[str, Delta]:
    """BOOK_SNAPSHOT rows (one per level) -> the newest snapshot per instrument; older ones in the same poll are stale."""
    deltas = {}
    for instrument, part in _per_instrument(df).items():
        newest = part.filter(pl.col("last_update_id") == pl.col("last_update_id").max()).sort("level")
        time_us = newest.select(_us("time").max()).item()
        sides = {key: newest.filter(pl.col("side") == side).select("price", "qty").rows() for key, side in _SIDES.items()}
        deltas[instrument] = Delta(book={"time": time_us, **sides}, last={BOOK: time_us})
    return deltas


def mark_prices(df: pl.DataFrame) -> dict[str, Delta]:
    """MARK_PRICE rows -> the newest by event time per instrument: the page shows the latest mark, index and funding,
    and the loader sends one a second, so older ones in the same poll are stale."""
    newest = df.select(
        INSTRUMENT, _us("time").alias("time"), "mark_price", "index_price", "funding_rate",
        _us("next_funding_time").alias("next_funding_time"),
    ).sort("time").group_by(INSTRUMENT, maintain_order=True).last()
    return {row.pop(INSTRUMENT): Delta(mark=row) for row in newest.iter_rows(named=True)}


def liquidations(df: pl.DataFrame, tape: int) -> dict[str, Delta]:
    """LIQUIDATION rows -> the newest `tape` per instrument, oldest first, as (time_us, side, price, qty)."""
    tails = df.select(INSTRUMENT, _us("time").alias("time_us"), "side", "price", "qty").group_by(
        INSTRUMENT, maintain_order=True).tail(tape)
    deltas: dict[str, Delta] = {}
    for instrument, *liquidation in tails.iter_rows():
        deltas.setdefault(instrument, Delta()).liquidations.append(tuple(liquidation))
    return deltas
