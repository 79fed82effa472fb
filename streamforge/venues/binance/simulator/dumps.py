"""Daily dump files in the data.binance.vision layout, generated once per (market, file) and cached on disk.

A zip holds one header-less CSV named like the zip; its `.CHECKSUM` is `<sha256>  <zip name>`. Spot timestamps are µs
from 2025-01-01 and ms before, as Binance writes them; booleans are `True`/`False`. Files are written to a temporary
name and renamed, so a crash never leaves a half-written file that a later request would serve. Fault variants
(malformed rows, corrupted bytes, the defects of `dump_defects`) are separate files beside the good one, so turning a
fault off serves the good file again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import polars as pl

from streamforge.sim.calendar import MICROSECOND_DUMPS_FROM, US_PER_DAY, US_PER_MS, day_start_us
from streamforge.sim.faults import malformed_agg_id
from streamforge.sim.market import Market
from streamforge.sim.memo import Memo
from streamforge.venues.binance.simulator import dump_defects

MALFORMED_PRICE = b"not-a-number"


def agg_trades_name(symbol: str, day: date) -> str:
    return f"{symbol}-aggTrades-{day.isoformat()}.zip"


def klines_name(symbol: str, interval: str, day: date) -> str:
    return f"{symbol}-{interval}-{day.isoformat()}.zip"


def time_unit_us(day: date) -> int:
    return 1 if day >= MICROSECOND_DUMPS_FROM else US_PER_MS


def _bool_text(column: str) -> pl.Expr:
    return pl.when(pl.col(column)).then(pl.lit("True")).otherwise(pl.lit("False")).alias(column)


def agg_trades_csv(trades: pl.DataFrame, day: date) -> bytes:
    unit = time_unit_us(day)
    return trades.select(
        "agg_id",
        "price",
        "qty",
        "first_trade_id",
        "last_trade_id",
        pl.col("time").dt.epoch("us") // unit,
        _bool_text("is_buyer_maker"),
        _bool_text("is_best_match"),
    ).write_csv(include_header=False, float_precision=8).encode()


def klines_csv(klines: pl.DataFrame, day: date) -> bytes:
    unit = time_unit_us(day)
    return klines.select(
        pl.col("open_time").dt.epoch("us") // unit,
        "open",
        "high",
        "low",
        "close",
        "volume",
        (pl.col("close_time").dt.epoch("us") + 1) // unit - 1,
        "quote_volume",
        "trade_count",
        "taker_buy_base_volume",
        "taker_buy_quote_volume",
        pl.lit(0).alias("ignore"),
    ).write_csv(include_header=False, float_precision=8).encode()


def malform_row(csv: bytes, agg_id: int) -> bytes:
    """Replace the price of the row with `agg_id` by text that is not a number."""
    key = b"\n%d," % agg_id
    row = (b"\n" + csv).find(key)  # the leading newline lets the first row match like the others
    if row < 0:
        return csv
    price_start = row + len(key) - 1
    price_end = csv.index(b",", price_start)
    return csv[:price_start] + MALFORMED_PRICE + csv[price_end:]


def corrupt(data: bytes) -> bytes:
    """Flip 64 bytes in the middle of a file, as a damaged download would."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def zip_bytes(csv_name: str, csv: bytes) -> bytes:
    with tempfile.SpooledTemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(csv_name, csv)
        buffer.seek(0)
        return buffer.read()


class DumpFiles:
    """The dump files of one market, built on first request under `cache_dir/<market key>/<variant>/`."""

    def __init__(self, market: Market, cache_dir: Path) -> None:
        self.market = market
        self.root = Path(cache_dir) / market.key
        self._built = Memo(self._build, maxsize=4096)

    def agg_trades(
        self, symbol: str, day: date, *, malformed: bool = False, corrupted: bool = False, defect: str = ""
    ) -> Path:
        """`defect` is one of `faults.DUMP_DEFECTS`, or "" for none."""
        return self._built("aggTrades", symbol, "", day, malformed, corrupted, defect)

    def klines(self, symbol: str, interval: str, day: date, *, corrupted: bool = False, kind: str = "klines") -> Path:
        """`kind` names the kind of klines for markets that have several (USD-M: markPriceKlines, ...)."""
        return self._built(kind, symbol, interval, day, False, corrupted, "")

    def checksum(self, zip_path: Path) -> str:
        return zip_path.with_name(zip_path.name + ".CHECKSUM").read_text().split()[0]

    def _build(
        self, kind: str, symbol: str, interval: str, day: date, malformed: bool, corrupted: bool, defect: str
    ) -> Path:
        variant = ("malformed" if malformed else "good") + (f"-{defect}" if defect else "")
        name = self._name(kind, symbol, interval, day)
        path = self.root / variant / kind / symbol / interval / name
        if corrupted:
            good = self._built(kind, symbol, interval, day, malformed, False, defect)
            damaged = self.root / f"{variant}-corrupt" / kind / symbol / interval / name
            if not damaged.exists():
                write_atomic(damaged, corrupt(good.read_bytes()))
            return damaged
        if not path.exists():
            data = self._zip(name.removesuffix(".zip") + ".csv", kind, symbol, interval, day, malformed, defect)
            write_atomic(path.with_name(name + ".CHECKSUM"), f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode())
            write_atomic(path, data)
        return path

    def _name(self, kind: str, symbol: str, interval: str, day: date) -> str:
        return agg_trades_name(symbol, day) if kind == "aggTrades" else klines_name(symbol, interval, day)

    def _zip(
        self, csv_name: str, kind: str, symbol: str, interval: str, day: date, malformed: bool, defect: str
    ) -> bytes:
        if kind == "klines":
            start = day_start_us(day)
            return zip_bytes(csv_name, klines_csv(self.market.klines(symbol, interval, start, start + US_PER_DAY), day))
        trades = self.market.day_trades(symbol, day)
        if defect == "ends_early":
            trades = dump_defects.ends_early(trades, day)
        elif defect == "differs":
            trades = dump_defects.differs(trades)
        csv = agg_trades_csv(trades, day)
        bad_id = malformed_agg_id(self.market.day_agg_ids(symbol, day))
        if malformed and bad_id is not None:
            csv = malform_row(csv, bad_id)
        if defect == "two_csvs":
            return dump_defects.two_csvs_zip(csv_name, csv, agg_trades_csv(dump_defects.differs(trades), day))
        if defect == "bomb":
            return dump_defects.bomb_zip(csv_name, csv)
        return zip_bytes(csv_name, csv)
