"""The USD-M wire formats, as layouts of the typed parser every Binance market shares (`binance.parse`).

All times are ms (the dumps' switch to µs on 2025-01-01 was spot's alone, and no futures endpoint takes
`X-MBX-TIME-UNIT`). Dump files may start with a header row (newer files) or not (older ones, never regenerated): the
parser tells them apart by content. Aggregate trades carry no `M`, so is_best_match is null. Mark- and index-price
klines keep the kline's 12 slots with the volume slots "0": only open, high, low, close and the times are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import polars as pl

from streamforge.schemas import FUNDING_RATE, INSTRUMENT, OPEN_INTEREST, PRICE_KLINE
from streamforge.venues.binance import parse as spot
from streamforge.venues.binance.parse import DECIMAL, IGNORED, INT, TIME, Layout, Times, from_csv, from_json

IN_MS = Times("ms", "USD-M futures answer and archive in ms")

# Spot's layout without `M` (is_best_match): the record's nullable column is then null.
AGG_TRADES = replace(
    spot.AGG_TRADES,
    fields=spot.AGG_TRADES.fields[:-1],
    json_keys=spot.AGG_TRADES.json_keys[:-1],
    header=("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time", "is_buyer_maker"),
)

_KLINE_HEADER = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "count", "taker_buy_volume",
    "taker_buy_quote_volume", "ignore",
)
TRADE_KLINES = replace(spot.KLINES, header=_KLINE_HEADER)

# A trade kline's 12 slots, those PRICE_KLINE lacks (the volumes, "0" here) ignored and named as the header names them.
PRICE_KLINES = replace(
    TRADE_KLINES,
    record=PRICE_KLINE,
    fields=tuple(
        (slot, kind if name in PRICE_KLINE.names else IGNORED)
        for slot, (name, kind) in zip(_KLINE_HEADER, TRADE_KLINES.fields, strict=True)
    ),
    non_negative=(),
)

FUNDING_DUMP = Layout(
    record=FUNDING_RATE,
    fields=(("funding_time", TIME), ("funding_interval_hours", INT), ("funding_rate", DECIMAL)),
    json_keys=(),
    positive=("funding_interval_hours",),
    non_negative=(),
    header=("calc_time", "funding_interval_hours", "last_funding_rate"),
)

FUNDING_REST = Layout(
    record=FUNDING_RATE,
    fields=(("funding_rate", DECIMAL), ("funding_time", TIME), ("mark_price", DECIMAL)),
    json_keys=("fundingRate", "fundingTime", "markPrice"),
    positive=("mark_price",),
    non_negative=(),
)

OPEN_INTEREST_HIST = Layout(
    record=OPEN_INTEREST,
    fields=(("open_interest", DECIMAL), ("open_interest_value", DECIMAL), ("time", TIME)),
    json_keys=("sumOpenInterest", "sumOpenInterestValue", "timestamp"),
    positive=(),
    non_negative=("open_interest", "open_interest_value"),
)


def agg_trades_from_json(rows: object, instrument: str, source: str) -> pl.DataFrame:
    """An aggTrades page (objects {a,p,q,f,l,T,m}; extra keys such as `nq` are not read) → AGG_TRADE."""
    return from_json(rows, AGG_TRADES, {INSTRUMENT: instrument}, IN_MS, source)


def agg_trades_from_csv(data: bytes | Iterable[bytes], instrument: str, day: date, source: str) -> pl.DataFrame:
    """A daily aggTrades dump (7 columns, with or without header) of `day` → AGG_TRADE."""
    return from_csv(data, AGG_TRADES, {INSTRUMENT: instrument}, IN_MS, day, source)


def klines_from_json(rows: object, instrument: str, interval: str, source: str) -> pl.DataFrame:
    """A trade klines page → KLINE."""
    return from_json(rows, TRADE_KLINES, {INSTRUMENT: instrument, "interval": interval}, IN_MS, source)


def price_klines_from_json(rows: object, instrument: str, interval: str, source: str) -> pl.DataFrame:
    """A markPriceKlines or indexPriceKlines page → PRICE_KLINE."""
    return from_json(rows, PRICE_KLINES, {INSTRUMENT: instrument, "interval": interval}, IN_MS, source)


def klines_from_csv(data: bytes | Iterable[bytes], layout: Layout, instrument: str, interval: str, day: date, source: str) -> pl.DataFrame:
    """A daily klines, markPriceKlines or indexPriceKlines dump (`layout`: TRADE_KLINES or PRICE_KLINES) of `day`."""
    return from_csv(data, layout, {INSTRUMENT: instrument, "interval": interval}, IN_MS, day, source)


def funding_from_csv(data: bytes | Iterable[bytes], instrument: str, source: str) -> pl.DataFrame:
    """A monthly fundingRate dump (calc_time, funding_interval_hours, last_funding_rate) → FUNDING_RATE, no mark
    price (the file has none)."""
    return from_csv(data, FUNDING_DUMP, {INSTRUMENT: instrument}, IN_MS, None, source)


def funding_from_json(rows: object, instrument: str, interval_hours: int, source: str) -> pl.DataFrame:
    """A fundingRate page (objects {symbol, fundingRate, fundingTime, markPrice}) → FUNDING_RATE; the interval is
    the symbol's (fundingInfo), as the page does not say."""
    constants = {INSTRUMENT: instrument, "funding_interval_hours": interval_hours}
    return from_json(rows, FUNDING_REST, constants, IN_MS, source)


def open_interest_from_json(rows: object, instrument: str, source: str) -> pl.DataFrame:
    """An openInterestHist page (objects {symbol, sumOpenInterest, sumOpenInterestValue, timestamp}) → OPEN_INTEREST."""
    return from_json(rows, OPEN_INTEREST_HIST, {INSTRUMENT: instrument}, IN_MS, source)
