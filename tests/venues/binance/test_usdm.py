"""Binance USD-M perpetuals over real sockets against the simulator: listing, trades from dumps (with and without
header rows) or REST within its 48-hour reach, funding, open interest, mark and index klines, and every bad input
named. The simulator's market is a pure function of its seed, so loaded data is compared with it exactly."""

from __future__ import annotations

from datetime import date

import httpx
import numpy as np
import polars as pl
import pytest

from streamforge.candles import aggregate
from streamforge.catalog import Cell
from streamforge.checks import candles_match_klines, trades_match_exchange
from streamforge.dates import day_bounds_us
from streamforge.errors import MalformedDataError, NotAvailableError, UnknownSymbolError
from streamforge.venues.binance.usdm import dumps as files
from streamforge.venues.binance.usdm import parse
from streamforge.venues.binance.spot import BinanceSpot
from streamforge.venues.binance.usdm.client import BinanceUsdm
from streamforge.venues.market import Endpoints

from exchange_cases import DAY, MARKET, TODAY

PERP = "binance.usdm.BTCUSDT"
FUTURES_ONLY = "binance.usdm.1000PEPEUSDT"  # Binance spot lists PEPEUSDT, never the thousand-PEPE contract
WITHIN_REACH = date(2025, 1, 9)  # the simulator's today is 2025-01-10: REST aggTrades reach back 48 hours
BEFORE_HEADERS = date(2022, 8, 10)  # the archive's aggTrades files carry a header row from 2022-08-11


@pytest.fixture
def usdm(sim, tmp_path):
    client = BinanceUsdm(Endpoints(sim, sim, sim.replace("http", "ws"), tmp_path / "dump-cache"))
    yield client
    client.close()


def market_trades(day: date) -> pl.DataFrame:
    return MARKET.day_trades(PERP, day).with_columns(is_best_match=pl.lit(None, dtype=pl.Boolean))


# --- listing --------------------------------------------------------------------------------------------------------


def test_a_perpetual_is_listed_and_a_spot_only_symbol_is_refused_by_name(usdm):
    assert usdm.require_listed(PERP)["contractType"] == "PERPETUAL"
    with pytest.raises(UnknownSymbolError, match=r"binance.usdm.LUNAUSDT: LUNAUSDT is not a Binance USD-M futures symbol"):
        usdm.require_listed("binance.usdm.LUNAUSDT")


def test_the_trades_of_every_perpetuals_last_24_hours_are_keyed_by_instrument(usdm):
    counts = usdm.trades_24h()
    assert set(counts) == {i.id for i in MARKET.listed("binance.usdm", TODAY).values()}
    assert counts[PERP] > counts["binance.usdm.BNBUSDT"] > 0


def test_a_futures_only_perpetual_is_listed_with_its_contract_details_and_binance_spot_does_not_list_it(usdm, sim, tmp_path):
    spec = usdm.require_listed(FUTURES_ONLY)
    details = (spec["baseAsset"], spec["pair"], spec["pricePrecision"], spec["quantityPrecision"])
    assert details == ("1000PEPE", "1000PEPEUSDT", 7, 0)
    assert spec["onboardDate"] == 1_683_244_800_000  # 2023-05-05
    filters = {f["filterType"]: f for f in spec["filters"]}
    assert float(filters["PRICE_FILTER"]["tickSize"]) == 1e-7 and float(filters["LOT_SIZE"]["stepSize"]) == 1
    assert float(filters["LOT_SIZE"]["maxQty"]) > 1e8  # quantities of a thousand-PEPE contract run into millions
    assert usdm.lists(FUTURES_ONLY) and FUTURES_ONLY in usdm.trading()
    spot = BinanceSpot(Endpoints(sim, sim, sim.replace("http", "ws"), tmp_path / "dump-cache"))
    try:
        assert not spot.lists("binance.spot.1000PEPEUSDT") and spot.lists("binance.spot.BTCUSDT")
    finally:
        spot.close()


def test_a_futures_only_perpetuals_day_from_its_dumps_and_rest_equals_the_market(usdm):
    cell = Cell(DAY, FUTURES_ONLY)
    frame, source = usdm.trades_day(cell)
    assert source["source"] == "dump" and frame.height > 0
    assert frame.equals(MARKET.day_trades(FUTURES_ONLY, DAY).with_columns(is_best_match=pl.lit(None, dtype=pl.Boolean)))
    klines = usdm.klines_day(cell, "1m")
    assert klines.equals(files.read_klines(usdm.dumps.fetch(files.klines_path("klines", "1000PEPEUSDT", "1m", DAY)), "klines"))
    outcome = candles_match_klines(aggregate(frame, "1m", DAY, usdm.price_before(FUTURES_ONLY, frame)), klines)
    assert outcome.passed, outcome.description
    mark, index = (usdm.price_klines_day(cell, kind, "1m") for kind in ("mark", "index"))
    assert mark.height == index.height == 1440
    own = MARKET.price_klines(FUTURES_ONLY, "index", "1m", *day_bounds_us(DAY))  # its asset's own price: no spot to index
    assert np.allclose(index["close"].to_numpy(), own["close"].to_numpy(), rtol=1e-8)
    down, up = usdm.mark_band(FUTURES_ONLY)
    assert ((mark["close"] / index["close"]).is_between(down, up)).all()
    funding, _ = usdm.funding_day(cell)
    assert funding.height == 3


def test_trading_lists_every_perpetual_that_trades(usdm):
    trading = usdm.trading()
    assert sorted(trading) == sorted(i.id for i in MARKET.listed("binance.usdm", TODAY).values() if i.trading_on(TODAY))
    assert PERP in trading


# --- trades ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [DAY, BEFORE_HEADERS], ids=["file-with-header", "file-without-header"])
def test_a_day_from_its_dump_equals_the_market_in_ms_without_best_match(usdm, faults, day):
    frame, source = usdm.trades_day(Cell(day, PERP))
    assert source["source"] == "dump"
    assert frame.equals(market_trades(day))
    assert frame["is_best_match"].null_count() == frame.height


def test_within_reach_rest_replaces_a_missing_dump(usdm, faults):
    faults(no_dumps=PERP)
    from_rest, source = usdm.trades_day(Cell(WITHIN_REACH, PERP))
    assert source["source"] == "rest" and "(404)" in source["reason"]
    assert from_rest.equals(market_trades(WITHIN_REACH))


def test_beyond_reach_a_day_in_neither_source_is_an_error_naming_the_day(usdm, faults):
    faults(no_dumps="BTCUSDT")
    with pytest.raises(NotAvailableError, match=r"binance.usdm.BTCUSDT 2025-01-02: no dump file .* reach back only to"):
        usdm.trades_day(Cell(DAY, PERP))


def test_a_corrupt_dump_beyond_reach_says_both_reasons(usdm, faults):
    faults(corrupt_zip=f"{PERP}:{DAY}")
    with pytest.raises(NotAvailableError, match=r"2025-01-02: checksum mismatch for BTCUSDT-aggTrades-2025-01-02.zip.* and REST aggTrades reach back only"):
        usdm.trades_day(Cell(DAY, PERP))


def test_within_reach_a_dump_that_ends_early_is_completed_from_rest(usdm, faults):
    faults(dump_ends_early=PERP)
    frame, source = usdm.trades_day(Cell(WITHIN_REACH, PERP))
    assert source["source"] == "dump+rest"
    assert frame.equals(market_trades(WITHIN_REACH))


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("bad_checksum", "checksum mismatch for BTCUSDT-aggTrades-2025-01-09.zip"),
        ("dump_two_csvs", "BTCUSDT-aggTrades-2025-01-09.zip holds 2 files"),
        ("dump_bomb", "'BTCUSDT-aggTrades-2025-01-09.csv' unpacks to more than"),
    ],
    ids=["bad-checksum", "two-csvs", "zip-bomb"],
)
def test_within_reach_a_dump_that_cannot_be_trusted_is_replaced_by_rest_saying_why(usdm, faults, fault, reason):
    faults(**{fault: PERP})
    frame, source = usdm.trades_day(Cell(WITHIN_REACH, PERP))
    assert source["source"] == "rest" and reason in source["reason"], source["reason"]
    assert frame.equals(market_trades(WITHIN_REACH))


@pytest.mark.parametrize("interval", ["1m", "5m"])
def test_candles_from_a_perpetuals_trades_equal_its_futures_klines_field_by_field(usdm, interval):
    trades, _ = usdm.trades_day(Cell(DAY, PERP))
    candles = aggregate(trades, interval, DAY, usdm.price_before(PERP, trades))
    outcome = candles_match_klines(candles, usdm.klines_day(Cell(DAY, PERP), interval))
    assert outcome.passed, outcome.description
    assert outcome.metadata["candles"] == 86_400 // (60 if interval == "1m" else 300)
    assert outcome.metadata["not_published_by_the_venue"] == []


def test_a_dump_whose_rows_differ_from_rest_is_named_by_id_within_reach_and_fails_the_klines_beyond(usdm, faults):
    faults(dump_differs=PERP)
    recent, _ = usdm.trades_day(Cell(WITHIN_REACH, PERP))
    outcome = trades_match_exchange(recent, usdm.rest_sample(PERP, recent))
    assert not outcome.passed and outcome.metadata["first_differing_ids"][0] % 50 == 0
    old, source = usdm.trades_day(Cell(DAY, PERP))  # REST no longer reaches it: the candles are held to the klines
    assert source["source"] == "dump" and usdm.rest_sample(PERP, old).is_empty()
    candles = aggregate(old, "1m", DAY, usdm.price_before(PERP, old))
    outcome = candles_match_klines(candles, usdm.klines_day(Cell(DAY, PERP), "1m"))
    assert not outcome.passed and outcome.metadata["volume_mismatches"] > 0


def test_a_malformed_dump_row_names_file_and_row(usdm, faults):
    faults(malformed=PERP)
    with pytest.raises(MalformedDataError, match=r"BTCUSDT-aggTrades-2025-01-02.zip: row \d+: price = 'not-a-number'"):
        usdm.trades_day(Cell(DAY, PERP))


def test_price_before_is_the_close_of_the_minute_before_the_day(usdm):
    trades, _ = usdm.trades_day(Cell(DAY, PERP))
    before = MARKET.agg_trades(PERP, day_bounds_us(DAY)[0] - 86_400_000_000, day_bounds_us(DAY)[0])
    assert usdm.price_before(PERP, trades) == before["price"][-1]


# --- the dump formats: headers by content ---------------------------------------------------------------------------

HEADER = b"agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
ROWS = b"1,100.5,0.1,1,1,1735776000000,true\n2,100.6,0.2,2,3,1735776000001,false\n"


@pytest.mark.parametrize("data", [HEADER + ROWS, ROWS], ids=["header", "no-header"])
def test_a_header_row_is_told_apart_by_content(data):
    frame = parse.agg_trades_from_csv(data, PERP, DAY, "f.zip")
    assert frame["agg_id"].to_list() == [1, 2] and frame["time"][0].isoformat() == "2025-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ROWS + HEADER + ROWS, r"f.zip: row 3: a header row .* in the middle of the file"),
        (HEADER + b"1,100.5,0.1,1,1,1735776000000\n", r"f.zip: row 2: has 6 fields, expected 7"),
        (HEADER.replace(b"quantity", b"qty") + ROWS, r"f.zip: row 1: unknown header 'agg_trade_id,price,qty"),
        (b"1,100.5,0.1,1,1,1735776000000000,true\n", r"f.zip: row 1: time = 1735776000000000 looks like µs"),
    ],
    ids=["header-in-the-middle", "missing-column", "unknown-header", "us-not-ms"],
)
def test_bad_futures_dumps_name_file_and_row(data, message):
    with pytest.raises(MalformedDataError, match=message):
        parse.agg_trades_from_csv(data, PERP, DAY, "f.zip")


# --- klines, funding, open interest ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [DAY, BEFORE_HEADERS], ids=["file-with-header", "file-without-header"])
def test_trade_klines_from_rest_equal_the_klines_dump(usdm, day):
    klines = usdm.klines_day(Cell(day, PERP), "1m")
    path = usdm.dumps.fetch(files.klines_path("klines", "BTCUSDT", "1m", day))
    assert klines.height == 1440 and klines.equals(files.read_klines(path, "klines"))


@pytest.mark.parametrize("kind", ["mark", "index"])
def test_mark_and_index_klines_equal_the_market(usdm, kind):
    klines = usdm.price_klines_day(Cell(DAY, PERP), kind, "1m")
    expected = MARKET.price_klines(PERP, kind, "1m", *day_bounds_us(DAY))
    assert klines.height == 1440
    assert np.allclose(klines["close"].to_numpy(), expected["close"].to_numpy(), rtol=1e-8)
    assert klines["open_time"].equals(expected["open_time"])


def test_funding_of_a_completed_month_comes_from_its_dump_and_of_this_month_from_rest(usdm):
    old = date(2024, 12, 31)
    dumped, source = usdm.funding_day(Cell(old, PERP))
    expected = MARKET.funding_rates(PERP, *day_bounds_us(old))
    assert source["source"] == "dump" and dumped["mark_price"].null_count() == dumped.height == 3
    assert dumped["funding_time"].equals(expected["funding_time"])
    assert np.allclose(dumped["funding_rate"].to_numpy(), expected["funding_rate"].to_numpy(), atol=1e-10)
    recent, source = usdm.funding_day(Cell(DAY, PERP))
    assert source["source"] == "rest" and recent.height == 3 and recent["mark_price"].null_count() == 0
    assert set(recent["funding_interval_hours"]) == {8}


def test_open_interest_is_served_for_the_latest_month_only(usdm):
    frame = usdm.open_interest_day(Cell(DAY, PERP))
    assert frame.height == 288
    with pytest.raises(NotAvailableError, match=r"open interest of binance.usdm.BTCUSDT is not available before 2024-12-"):
        usdm.open_interest_day(Cell(date(2024, 11, 1), PERP))


def test_futures_weight_is_counted_apart_from_spot(sim, usdm, faults):
    usdm.klines_day(Cell(DAY, PERP), "1m")
    used = httpx.get(f"{sim}/sim/stats").json()
    assert sum(used["futures_used_weight"].values()) > 0 and not sum(used["used_weight"].values())


KLINES_HEADER = (b"open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
                 b"taker_buy_quote_volume,ignore\n")
KLINES_ROWS = (b"1735776000000,100.5,101,100,100.8,2,1735776059999,201.3,3,1,100.6,0\n"
               b"1735776060000,100.8,100.9,100.1,100.2,1,1735776119999,100.5,2,0,0,0\n")
PRICE_KLINES_ROWS = (b"1735776000000,100.5,101,100,100.8,0,1735776059999,0,0,0,0,0\n"
                     b"1735776060000,100.8,100.9,100.1,100.2,0,1735776119999,0,0,0,0,0\n")
FUNDING_HEADER = b"calc_time,funding_interval_hours,last_funding_rate\n"
FUNDING_ROWS = b"1735776000002,8,0.00010000\n1735804800001,8,-0.00002000\n"
FILES = {
    "aggTrades": (HEADER, ROWS, lambda data: parse.agg_trades_from_csv(data, PERP, DAY, "f.zip")),
    "klines": (KLINES_HEADER, KLINES_ROWS, lambda data: parse.klines_from_csv(data, parse.TRADE_KLINES, PERP, "1m", DAY, "f.zip")),
    "markPriceKlines": (KLINES_HEADER, PRICE_KLINES_ROWS,
                        lambda data: parse.klines_from_csv(data, parse.PRICE_KLINES, PERP, "1m", DAY, "f.zip")),
    "fundingRate": (FUNDING_HEADER, FUNDING_ROWS, lambda data: parse.funding_from_csv(data, PERP, "f.zip")),
}


@pytest.mark.parametrize("kind", FILES)
def test_every_futures_dump_reads_the_same_with_or_without_its_header_row(kind):
    header, rows, read = FILES[kind]
    with_header = read(header + rows)
    assert with_header.height == 2 and with_header.equals(read(rows))


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize(
    ("defect", "message"),
    [
        (lambda header, rows: rows + header + rows, r"f.zip: row 3: a header row .* in the middle of the file"),
        (lambda header, rows: header + rows.replace(b",", b"", 1), r"f.zip: row 2: has \d+ fields, expected \d+"),
        (lambda header, rows: header.replace(b"_", b"-", 1) + rows, r"f.zip: row 1: unknown header '"),
    ],
    ids=["header-in-the-middle", "missing-column", "unknown-header"],
)
def test_every_futures_dump_with_a_misplaced_short_or_unknown_header_names_file_and_row(kind, defect, message):
    header, rows, read = FILES[kind]
    with pytest.raises(MalformedDataError, match=message):
        read(defect(header, rows))


@pytest.mark.parametrize(
    ("data", "read", "message"),
    [
        (FUNDING_HEADER + FUNDING_ROWS.replace(b",8,-", b",0,-"), FILES["fundingRate"][2],
         r"f.zip: row 3: funding_interval_hours = 0 is not a positive number"),
        (HEADER + ROWS.replace(b"100.6", b"-1"), FILES["aggTrades"][2], r"f.zip: row 3: price = -1.0 is not a positive number"),
        (HEADER + ROWS.replace(b"\n2,", b"\n3,"), FILES["aggTrades"][2], r"f.zip: row 3: agg_id = 3 breaks the sequence from 1"),
        (KLINES_HEADER + KLINES_ROWS.replace(b",100.1,", b",100.95,"), FILES["klines"][2], r"f.zip: row 3: high = 100.9 is below low"),
    ],
    ids=["funding-interval-0", "negative-price", "agg-id-gap", "high-below-low"],
)
def test_a_bad_value_after_a_header_row_names_the_files_row(data, read, message):
    with pytest.raises(MalformedDataError, match=message):
        read(data)
