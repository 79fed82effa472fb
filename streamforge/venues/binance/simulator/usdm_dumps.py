"""The USD-M dump files under `/data/futures/um/` (daily aggTrades, klines, markPriceKlines, indexPriceKlines; monthly
fundingRate), generated from the simulator's market and cached on disk like spot's (`dumps`).

As in the real archive, newer files start with a header row and older ones do not (binance-public-data #177, #278:
aggTrades and trades carry one from 2022-08-11; the simulator uses the same day for the kline files, whose switch is
not documented, and gives every fundingRate file one). Times are ms in every file; aggTrades rows have 7 columns (no
`M`). The spot file faults (missing, corrupt, bad checksum, malformed row, the `dump_*` defects) apply to these files
too; a target names the bare symbol or the instrument id.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from streamforge.sim.calendar import US_PER_DAY, day_start_us
from streamforge.sim.faults import malformed_agg_id
from streamforge.venues.binance.simulator import dump_defects
from streamforge.venues.binance.simulator.dumps import DumpFiles, _bool_text, malform_row, zip_bytes

USDM = "binance.usdm"
HEADERS_FROM = date(2022, 8, 11)
AGG_TRADES_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
KLINES_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore"
)
FUNDING_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
KLINE_KINDS = {"klines": "klines", "markPriceKlines": "mark", "indexPriceKlines": "index"}


def with_header(header: str, csv: bytes, day: date) -> bytes:
    return (header + "\n").encode() + csv if day >= HEADERS_FROM else csv


def agg_trades_csv(trades: pl.DataFrame) -> bytes:
    return trades.select(
        "agg_id", "price", "qty", "first_trade_id", "last_trade_id", pl.col("time").dt.epoch("ms"), _bool_text("is_buyer_maker")
    ).write_csv(include_header=False, float_precision=8).encode()


def klines_csv(kind: str, klines: pl.DataFrame) -> bytes:
    if kind == "klines":
        volumes = ["volume", pl.col("close_time").dt.epoch("ms"), "quote_volume", "trade_count", "taker_buy_base_volume",
                   "taker_buy_quote_volume"]
    else:  # mark and index klines keep the 12 slots, volumes 0
        zero = pl.lit(0)
        volumes = [zero.alias("v"), pl.col("close_time").dt.epoch("ms"), zero.alias("q"), zero.alias("n"),
                   zero.alias("tb"), zero.alias("tq")]
    return klines.select(
        pl.col("open_time").dt.epoch("ms"), "open", "high", "low", "close", *volumes, pl.lit(0).alias("ignore")
    ).write_csv(include_header=False, float_precision=8).encode()


def funding_csv(rates: pl.DataFrame, hours: int) -> bytes:
    return rates.select(
        pl.col("funding_time").dt.epoch("ms"), pl.lit(hours).alias("hours"), "funding_rate"
    ).write_csv(include_header=False, float_precision=8).encode()


class UsdmDumpFiles(DumpFiles):
    """The USD-M files, under `cache_dir/<market key>/usdm/<variant>/`."""

    def __init__(self, market, cache_dir) -> None:
        super().__init__(market, cache_dir)
        self.root = self.root / "usdm"

    def funding(self, symbol: str, month: date, *, corrupted: bool = False) -> Path:
        return self._built("fundingRate", symbol, "", month.replace(day=1), False, corrupted, "")

    def _name(self, kind: str, symbol: str, interval: str, day: date) -> str:
        if kind == "fundingRate":
            return f"{symbol}-fundingRate-{day:%Y-%m}.zip"
        return super()._name(kind, symbol, interval, day)

    def _zip(self, csv_name: str, kind: str, symbol: str, interval: str, day: date, malformed: bool, defect: str) -> bytes:
        key, market = f"{USDM}.{symbol}", self.market
        start = day_start_us(day)
        if kind == "fundingRate":
            end = day_start_us(date(day.year + day.month // 12, day.month % 12 + 1, 1))
            hours = market.spec(key).funding_hours
            return zip_bytes(csv_name, (FUNDING_HEADER + "\n").encode() + funding_csv(market.funding_rates(key, start, end), hours))
        if kind in KLINE_KINDS:
            if kind == "klines":
                rows = market.klines(key, interval, start, start + US_PER_DAY)
            else:
                rows = market.price_klines(key, KLINE_KINDS[kind], interval, start, start + US_PER_DAY)
            return zip_bytes(csv_name, with_header(KLINES_HEADER, klines_csv(kind, rows), day))
        trades = market.day_trades(key, day)
        if defect == "ends_early":
            trades = dump_defects.ends_early(trades, day)
        elif defect == "differs":
            trades = dump_defects.differs(trades)
        csv = agg_trades_csv(trades)
        bad_id = malformed_agg_id(market.day_agg_ids(key, day))
        if malformed and bad_id is not None:
            csv = malform_row(csv, bad_id)
        csv = with_header(AGG_TRADES_HEADER, csv, day)
        if defect == "two_csvs":
            return dump_defects.two_csvs_zip(csv_name, csv, with_header(AGG_TRADES_HEADER, agg_trades_csv(dump_defects.differs(trades)), day))
        if defect == "bomb":
            return dump_defects.bomb_zip(csv_name, csv)
        return zip_bytes(csv_name, csv)
