"""Dump files as Binance users have found them broken (the faults `dump_<defect>` of `sim.faults`), each with a
`.CHECKSUM` that matches (computed over the broken file, as the exchange publishes it), so only a reader that looks
inside can tell.

| defect | what the aggTrades zip holds | reported |
|---|---|---|
| `ends_early` | the day up to 09:29 UTC only: its last hours are missing | binance-public-data #354 (2021-12-14) |
| `differs` | every `DIFFERS_EVERY`-th agg id with another quantity than REST serves for it | #375 (late re-uploads) |
| `two_csvs` | the day's CSV and a second, different one in a folder beside it | #449 |
| `bomb` | the day's CSV followed by its last row again and again, `BOMB_BYTES` in all, from under 2 MiB | a zip bomb |
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

import polars as pl

from streamforge.sim.calendar import US_PER_S, day_start_us

ENDS_AT_US = (9 * 3600 + 29 * 60) * US_PER_S  # into the day: where the 2021-12-14 files stopped
DIFFERS_EVERY = 50
BOMB_BYTES = 400 << 20


def ends_early(trades: pl.DataFrame, day: date) -> pl.DataFrame:
    return trades.filter(pl.col("time").dt.epoch("us") < day_start_us(day) + ENDS_AT_US)


def differs(trades: pl.DataFrame) -> pl.DataFrame:
    changed = pl.col("agg_id") % DIFFERS_EVERY == 0
    return trades.with_columns(pl.when(changed).then(pl.col("qty") * 2).otherwise(pl.col("qty")).alias("qty"))


def two_csvs_zip(csv_name: str, csv: bytes, other: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(csv_name, csv)
        archive.writestr(f"{csv_name.removesuffix('.csv')}/{csv_name}", other)
    return buffer.getvalue()


def bomb_zip(csv_name: str, csv: bytes) -> bytes:
    """Streamed into the zip a MiB at a time: the simulator never holds the 400 MiB either, only the zip."""
    last_row = csv[csv.rstrip(b"\n").rfind(b"\n") + 1 :]
    block = last_row * ((1 << 20) // len(last_row) + 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(csv_name, "w", force_zip64=True) as member:
            member.write(csv)
            written = len(csv)
            while written < BOMB_BYTES:
                piece = block[: BOMB_BYTES - written]
                member.write(piece)
                written += len(piece)
    return buffer.getvalue()
