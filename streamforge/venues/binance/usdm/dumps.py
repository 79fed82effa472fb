"""The USD-M dump files under `data/futures/um/`: their paths and how a verified file is read.

Downloading, verifying against `.CHECKSUM` and caching are every Binance archive's (`binance.dumps.DumpClient`); a
verified file is still read as untrusted (`binance.archive`), with at most the rows the day (or month) can hold.
Daily files: aggTrades, klines, markPriceKlines, indexPriceKlines; funding rates come in monthly files only.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl

from streamforge.venues.archive import csv_chunks
from streamforge.venues.binance.dumps import interval_s, name_match
from streamforge.venues.binance.usdm import USDM, parse

ROOT = "data/futures/um"
KLINE_KINDS = {"klines": parse.TRADE_KLINES, "markPriceKlines": parse.PRICE_KLINES, "indexPriceKlines": parse.PRICE_KLINES}
_AGG_TRADES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-aggTrades-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_KLINES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\w+)-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_FUNDING_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-fundingRate-(?P<month>\d{4}-\d{2})\.zip$")
HEADER_ROWS = 1  # a file may start with one
MOST_SETTLEMENTS_A_MONTH = 31 * 24  # hourly funding, the shortest interval Binance uses


def agg_trades_path(symbol: str, day: date) -> str:
    """The daily aggTrades file's path under the dump URL (and the cache); the symbol is checked to be safe in it."""
    USDM.instrument(symbol)
    return f"{ROOT}/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day.isoformat()}.zip"


def klines_path(kind: str, symbol: str, interval: str, day: date) -> str:
    """A daily klines, markPriceKlines or indexPriceKlines file's path."""
    USDM.instrument(symbol)
    interval_s(interval)
    return f"{ROOT}/daily/{kind}/{symbol}/{interval}/{symbol}-{interval}-{day.isoformat()}.zip"


def funding_path(symbol: str, month: date) -> str:
    """The monthly fundingRate file's path (`month` is any day of it)."""
    USDM.instrument(symbol)
    return f"{ROOT}/monthly/fundingRate/{symbol}/{symbol}-fundingRate-{month:%Y-%m}.zip"


def read_agg_trades(path: Path, rows: int) -> pl.DataFrame:
    """A verified aggTrades zip (symbol and day from its name) → AGG_TRADE. `rows` is the most the day can have (the
    exchange's raw trade count of the day, from its daily kline: an aggregate holds at least one trade)."""
    match = name_match(_AGG_TRADES_NAME, path)
    what = "aggregate trades (the raw trades of the exchange's daily kline)"
    chunks = csv_chunks(path, rows + HEADER_ROWS, len(parse.AGG_TRADES.fields), what)
    instrument = USDM.instrument(match["symbol"]).id
    return parse.agg_trades_from_csv(chunks, instrument, date.fromisoformat(match["day"]), path.name)


def read_klines(path: Path, kind: str) -> pl.DataFrame:
    """A verified klines (KLINE), markPriceKlines or indexPriceKlines (PRICE_KLINE) zip → its record."""
    match = name_match(_KLINES_NAME, path)
    rows = -(-86_400 // interval_s(match["interval"]))
    layout = KLINE_KINDS[kind]
    chunks = csv_chunks(path, rows + HEADER_ROWS, len(layout.fields), f"{match['interval']} klines of a day")
    instrument = USDM.instrument(match["symbol"]).id
    return parse.klines_from_csv(chunks, layout, instrument, match["interval"], date.fromisoformat(match["day"]), path.name)


def read_funding(path: Path) -> pl.DataFrame:
    """A verified monthly fundingRate zip → FUNDING_RATE (without mark prices: the file has none)."""
    match = name_match(_FUNDING_NAME, path)
    chunks = csv_chunks(path, MOST_SETTLEMENTS_A_MONTH + HEADER_ROWS, len(parse.FUNDING_DUMP.fields), "settlements of a month")
    return parse.funding_from_csv(chunks, USDM.instrument(match["symbol"]).id, path.name)
