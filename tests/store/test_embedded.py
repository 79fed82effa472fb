"""The embedded store's own promises: plain Parquet files other tools read, atomic and deterministic rewrites,
crash safety, and writers in several processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from streamforge.schemas import AGG_TRADE
from streamforge.store.embedded import EmbeddedStore
from store_frames import agg_trades

D1 = date(2025, 1, 1)
BIG = 2_000_000  # rows: a partition that takes long enough to write to be killed in the middle


def partition_file(root: Path, instrument: str = "binance.spot.BTCUSDT", day: date = D1) -> Path:
    return root / "trades" / f"instrument={instrument}" / f"date={day.isoformat()}.parquet"


def temp_files(root: Path) -> list[Path]:
    return sorted((root / "trades").glob("instrument=*/.*.tmp"))


def test_partitions_are_hive_parquet_files_that_polars_and_duckdb_read(tmp_path):
    store = EmbeddedStore(tmp_path)
    for instrument in ("binance.spot.BTCUSDT", "binance.spot.ETHUSDT"):
        store.replace_partition("trades", AGG_TRADE, instrument, D1, agg_trades(instrument, D1, 50))
    assert partition_file(tmp_path, "binance.spot.ETHUSDT").is_file()
    pattern = f"{tmp_path}/trades/instrument=*/date=*.parquet"
    expected = store.read("trades", AGG_TRADE)
    by_polars = pl.scan_parquet(pattern, hive_partitioning=True).collect().sort("instrument", "agg_id")
    by_duckdb = duckdb.sql(
        f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true) ORDER BY instrument, agg_id"
    ).pl()
    assert by_polars.equals(expected)
    assert AGG_TRADE.conform(by_duckdb.with_columns(pl.col("time").dt.convert_time_zone("UTC"))).equals(expected)


def test_rewriting_the_same_rows_gives_the_same_bytes(tmp_path):
    store = EmbeddedStore(tmp_path)
    trades = agg_trades("binance.spot.BTCUSDT", D1, 10_000)
    store.replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    first = partition_file(tmp_path).read_bytes()
    store.replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades.sample(fraction=1.0, shuffle=True, seed=5))
    assert partition_file(tmp_path).read_bytes() == first


def test_stale_temp_files_are_invisible_to_readers_and_removed_by_the_next_write(tmp_path):
    store = EmbeddedStore(tmp_path)
    trades = agg_trades("binance.spot.BTCUSDT", D1, 20)
    store.replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    stale = partition_file(tmp_path).with_name(".date=2025-01-01.parquet.999-deadbeef.tmp")
    stale.write_bytes(b"PAR1 half a file")
    assert store.read("trades", AGG_TRADE).equals(trades)
    assert pl.scan_parquet(f"{tmp_path}/trades/instrument=*/date=*.parquet").collect().height == 20
    store.replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    assert temp_files(tmp_path) == []


def write_big_partition(root: str) -> None:
    """Child process body: write the big partition (the parent kills it midway)."""
    EmbeddedStore(root).replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, BIG, seed=9))


@pytest.mark.slow
@pytest.mark.parametrize("old_content", [True, False], ids=["over-old-content", "new-partition"])
def test_a_writer_killed_mid_write_leaves_the_old_partition_or_none(tmp_path, old_content):
    store = EmbeddedStore(tmp_path)
    old = agg_trades("binance.spot.BTCUSDT", D1, 100)
    if old_content:
        store.replace_partition("trades", AGG_TRADE, "binance.spot.BTCUSDT", D1, old)
    child = multiprocessing.get_context("spawn").Process(target=write_big_partition, args=(str(tmp_path),))
    child.start()
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size > 0 for p in temp_files(tmp_path)):  # the child is writing its temp file
        assert child.is_alive() and time.monotonic() < deadline, "the child never started writing"
        time.sleep(0.001)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert temp_files(tmp_path), "the kill should have landed mid-write"

    visible = list((tmp_path / "trades").glob("instrument=*/date=*.parquet"))  # what polars / DuckDB readers glob
    assert visible == ([partition_file(tmp_path)] if old_content else [])
    assert store.read("trades", AGG_TRADE).equals(old if old_content else AGG_TRADE.empty())

    reference = EmbeddedStore(tmp_path / "reference")
    write_big_partition(str(reference.root))
    write_big_partition(str(tmp_path))  # the re-run
    assert partition_file(tmp_path).read_bytes() == partition_file(reference.root).read_bytes()
    assert temp_files(tmp_path) == []


def write_partitions(root: str, instrument: str) -> None:
    store = EmbeddedStore(root)
    for day in range(1, 6):
        d = date(2025, 1, day)
        store.replace_partition("trades", AGG_TRADE, instrument, d, agg_trades(instrument, d, 20_000, seed=day))


@pytest.mark.slow
def test_processes_writing_different_partitions_at_once_do_not_disturb_each_other(tmp_path):
    instruments = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT", "binance.spot.XRPUSDT"]
    with multiprocessing.get_context("spawn").Pool(len(instruments)) as pool:
        pool.starmap(write_partitions, [(str(tmp_path), s) for s in instruments])
    store = EmbeddedStore(tmp_path)
    assert [(p.instrument, p.day.day, p.rows) for p in store.partitions("trades")] == [
        (s, day, 20_000) for s in instruments for day in range(1, 6)
    ]
    for s in instruments:
        got = store.read("trades", AGG_TRADE, instruments=[s], start=date(2025, 1, 3), end=date(2025, 1, 3))
        assert got.equals(agg_trades(s, date(2025, 1, 3), 20_000, seed=3))
    assert temp_files(tmp_path) == []
