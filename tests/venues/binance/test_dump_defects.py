"""Dump files as Binance users found them broken, each passing its checksum, served by the simulator over sockets.

A day that ends early is completed from REST (and says so); a zip with two CSVs or a zip bomb is refused, naming what
was wrong, and the day comes from REST; a dump whose rows differ from REST is named by id (`rest_sample` +
`checks.trades_match_exchange`). Every loaded day is compared with the market's own trades: "complete" means equal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from streamforge.checks import trades_match_exchange
from streamforge.dates import day_bounds_us
from streamforge.errors import ChecksumError, ConfigError, DumpArchiveError
from streamforge.venues.binance.crosscheck import rest_sample
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.history import load_agg_trades_day

from exchange_cases import DAY, MARKET

NAME = "BTCUSDT-aggTrades-2025-01-02.zip"


def test_the_exchanges_day_is_the_ids_from_its_first_trade_to_before_the_next_days_first(rest):
    assert rest.day_agg_ids("BTCUSDT", DAY) == MARKET.day_agg_ids("BTCUSDT", DAY)
    assert MARKET.day_agg_ids("BTCUSDT", DAY).stop == MARKET.day_agg_ids("BTCUSDT", date(2025, 1, 3)).start


def test_a_dump_that_ends_early_is_completed_from_rest_before_it_is_returned_and_says_so(rest, dumps, faults):
    faults(dump_ends_early="BTCUSDT:2025-01-02")
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    truth = MARKET.day_trades("BTCUSDT", DAY)
    assert frame.equals(truth)
    start, _ = day_bounds_us(DAY)
    last_in_dump = truth.filter(pl.col("time").dt.epoch("us") < start + (9 * 60 + 29) * 60_000_000)["agg_id"][-1]
    first, last = truth["agg_id"][0], truth["agg_id"][-1]
    assert source["source"] == "dump+rest" and source["rows"] == truth.height
    assert source["filled_from_rest"] == [{"first_id": last_in_dump + 1, "last_id": last, "rows": last - last_in_dump}]
    assert source["reason"] == (
        f"verified dump file {NAME} lacks agg ids {last_in_dump + 1}..{last} of the exchange's 2025-01-02 "
        f"({first}..{last}); filled from REST"
    )


def test_a_zip_with_two_csvs_is_refused_naming_them_and_the_day_comes_from_rest(rest, dumps, faults):
    faults(dump_two_csvs="BTCUSDT")
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))
    assert source["source"] == "rest"
    assert source["reason"] == (
        f"{NAME} holds 2 files ('BTCUSDT-aggTrades-2025-01-02.csv', "
        "'BTCUSDT-aggTrades-2025-01-02/BTCUSDT-aggTrades-2025-01-02.csv'), a daily dump holds one CSV; refused: "
        "there is no telling which one is the day"
    )


def test_a_zip_bomb_is_refused_once_it_unpacks_past_what_the_day_can_take_and_the_day_comes_from_rest(
    rest, dumps, faults
):
    faults(dump_bomb="BTCUSDT")
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert frame.equals(MARKET.day_trades("BTCUSDT", DAY))
    rows = len(MARKET.day_agg_ids("BTCUSDT", DAY))
    assert source["source"] == "rest"
    assert source["reason"] == (
        f"{NAME}: 'BTCUSDT-aggTrades-2025-01-02.csv' unpacks to more than {rows * 8 * 32 + 65536} bytes, the most "
        f"{rows} aggregate trades (the exchange's count for the day) can take (it says 419430400); refused without "
        "unpacking it"
    )


def test_a_dump_whose_rows_differ_from_rest_is_named_by_id(rest, dumps, faults):
    faults(dump_differs="BTCUSDT")
    frame, source = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert source["source"] == "dump"
    sample = rest_sample(rest, "BTCUSDT", frame, pages=3)
    ids = MARKET.day_agg_ids("BTCUSDT", DAY)
    pages = [ids[0], ids[0] + (len(ids) - 1000) // 2, ids[-1] - 999]
    assert sample["agg_id"].to_list() == [i for start in pages for i in range(start, start + 1000)]
    outcome = trades_match_exchange(frame, sample)
    differing = [i for i in sample["agg_id"] if i % 50 == 0]
    assert not outcome.passed
    assert outcome.metadata["differing"] == len(differing) == outcome.metadata["qty_differs"]
    assert outcome.metadata["first_differing_ids"] == differing[:5]
    assert str(differing[0]) in outcome.description and "qty" in outcome.description


def test_a_good_dump_matches_rest_on_the_sample(rest, dumps):
    frame, _ = load_agg_trades_day(rest, dumps, "BTCUSDT", DAY)
    assert trades_match_exchange(frame, rest_sample(rest, "BTCUSDT", frame)).passed


def test_the_dump_cache_refuses_a_symbol_that_would_leave_it(dumps):
    for symbol in ("../../etc", "BTC/USDT", ""):
        with pytest.raises(ConfigError, match="is not an instrument|is not a Binance spot symbol"):
            dumps.agg_trades(symbol, DAY)
    assert not dumps.cache_dir.exists()


# --- zip bombs and archives that are not one CSV, read straight from a file --------------------------------------

ROWS = 2_000_000  # a busy BTCUSDT day: its CSV may take 512 MB, more than the bombs below claim


def bomb(path: Path, mib: int, line: bytes) -> Path:
    """A zip holding about `mib` MiB of `line` over and over, in a few hundred KiB (the review's: 398 KiB holding
    400 MiB)."""
    block = line * ((1 << 20) // len(line))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(path.name.replace(".zip", ".csv"), "w", force_zip64=True) as member:
            for _ in range(mib):
                member.write(block)
    return path


ZEROS = b"0" * 64
ROW = b"1000,96000.01000000,0.00100000,5000,5000,1735776000000000,True,True\n"


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        (ZEROS, f"{NAME}: row 1: has 1 fields, expected 8: '0000"),
        (ROW, f"{NAME}: 'BTCUSDT-aggTrades-2025-01-02.csv' holds more than the {ROWS} rows of aggregate trades"),
    ],
    ids=["zeros", "valid-rows"],
)
def test_a_400_mib_zip_bomb_fails_fast_in_bounded_memory(tmp_path, line, refusal):
    """Peak memory of a fresh process reading the bomb, above the same process doing nothing else. The reader used
    to unpack all of it, then split it into lines: ~21 GiB for the review's bomb, and for zeros here it died
    asking for 6.4 GiB at once under an 8 GB address-space limit."""
    path = bomb(tmp_path / NAME, 400, line)
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from streamforge.errors import StreamForgeError
        from streamforge.venues.binance.dumps import DumpClient
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.argv[1] == "read":
            try:
                DumpClient.read_agg_trades(Path({str(path)!r}), rows={ROWS})
            except StreamForgeError as exc:
                print(str(exc).splitlines()[0])
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline)
        """
    )
    idle = subprocess.run([sys.executable, "-c", script, "idle"], capture_output=True, text=True, check=True)
    read = subprocess.run([sys.executable, "-c", script, "read"], capture_output=True, text=True, check=True)
    message, grown_kib = read.stdout.splitlines()
    assert message.startswith(refusal) and len(message) < 400
    extra_mib = (int(grown_kib) - int(idle.stdout)) / 1024
    print(f"zip of {path.stat().st_size >> 10} KiB: peak RSS {extra_mib:.0f} MiB above an idle interpreter")
    assert extra_mib < 512


def test_a_bomb_that_says_it_is_small_is_refused_once_it_unpacks_past_what_the_day_can_take(tmp_path):
    path = bomb(tmp_path / NAME, 64, ZEROS)
    data = bytearray(path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")  # its entry's zip64 field holds the size the reader is told
    size = data.find((64 << 20).to_bytes(8, "little"), directory)
    data[size : size + 8] = (1000).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises((DumpArchiveError, ChecksumError)) as raised:
        DumpClient.read_agg_trades(path, rows=1000)
    assert str(raised.value).startswith(
        (f"{NAME}: 'BTCUSDT-aggTrades-2025-01-02.csv' unpacks to more than 321536 bytes", f"corrupt zip {NAME}")
    )


def test_a_zip_listing_many_files_is_refused_before_they_are_read(tmp_path):
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(5000):
            archive.writestr(f"{i}.csv", b"")
    with pytest.raises(DumpArchiveError, match=rf"^{NAME} lists 5000 files in a \d+-byte table of contents"):
        DumpClient.read_agg_trades(path, rows=1000)
