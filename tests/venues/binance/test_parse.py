"""Parsing at the edge: round trips of REST JSON and dump CSVs, µs/ms detection, malformed rows named, speed."""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.dates import day_bounds_us
from streamforge.errors import MalformedDataError
from streamforge.venues.binance import parse
from streamforge.schemas import AGG_TRADE, KLINE

DAY_US = 86_400_000_000
MS_DAY, US_DAY = date(2024, 12, 31), date(2025, 1, 2)  # either side of the dumps' switch to µs


def trades(day: date) -> st.SearchStrategy[list[dict]]:
    start, _ = day_bounds_us(day)
    # ms-era files can only hold whole milliseconds
    step = 1 if day >= parse.DUMPS_IN_US_FROM else 1000
    trade = st.fixed_dictionaries(
        {
            "price": st.decimals("0.00000001", "1000000", places=8).map(str),
            "qty": st.decimals("0.00000001", "10000", places=8).map(str),
            "trades": st.integers(1, 5),
            "time": st.integers(0, DAY_US // step - 1).map(lambda t: start + t * step),
            "m": st.booleans(),
            "M": st.booleans(),
        }
    )
    return st.lists(trade, max_size=50)


def to_rows(drawn: list[dict], first_id: int = 1000) -> list[dict]:
    """Binance aggTrades JSON rows: consecutive agg ids, raw trade ids following each other."""
    rows, raw = [], 5000
    for i, t in enumerate(sorted(drawn, key=lambda t: t["time"])):
        rows.append({"a": first_id + i, "p": t["price"], "q": t["qty"], "f": raw, "l": raw + t["trades"] - 1,
                     "T": t["time"], "m": t["m"], "M": t["M"]})  # fmt: skip
        raw += t["trades"]
    return rows


def expected_frame(rows: list[dict], instrument: str) -> pl.DataFrame:
    return AGG_TRADE.conform(
        pl.DataFrame(
            {
                "instrument": [instrument] * len(rows),
                "agg_id": [r["a"] for r in rows],
                "price": [float(r["p"]) for r in rows],
                "qty": [float(r["q"]) for r in rows],
                "first_trade_id": [r["f"] for r in rows],
                "last_trade_id": [r["l"] for r in rows],
                "time": [datetime.fromtimestamp(r["T"] / 1e6, timezone.utc) for r in rows],
                "is_buyer_maker": [r["m"] for r in rows],
                "is_best_match": [r["M"] for r in rows],
                "contract_size": [None] * len(rows),
            },
            schema_overrides={"time": pl.Datetime("us", "UTC"), "instrument": pl.String},
        ).with_columns(pl.Series("time", [r["T"] for r in rows], dtype=pl.Int64).cast(pl.Datetime("us", "UTC")))
    )


def dump_csv(rows: list[dict], day: date) -> bytes:
    """The dump file Binance would publish: no header, Python-style booleans, ms before 2025."""
    divisor = 1 if day >= parse.DUMPS_IN_US_FROM else 1000
    lines = [f"{r['a']},{r['p']},{r['q']},{r['f']},{r['l']},{r['T'] // divisor},{r['m']},{r['M']}" for r in rows]
    return "".join(line + "\n" for line in lines).encode()


@settings(max_examples=60, deadline=None)
@given(drawn=trades(US_DAY))
def test_rest_agg_trades_round_trip(drawn):
    rows = to_rows(drawn)
    frame = parse.agg_trades_from_json(rows, "binance.spot.BTCUSDT", "page")
    assert frame.equals(expected_frame(rows, "binance.spot.BTCUSDT"))


@pytest.mark.parametrize("day", [MS_DAY, US_DAY], ids=["ms-era", "us-era"])
def test_dump_agg_trades_round_trip_normalises_to_us(day):
    @settings(max_examples=40, deadline=None)
    @given(drawn=trades(day))
    def round_trip(drawn):
        rows = to_rows(drawn)
        frame = parse.agg_trades_from_csv(dump_csv(rows, day), "binance.spot.ETHUSDT", day, "ETHUSDT-aggTrades.zip")
        assert frame.equals(expected_frame(rows, "binance.spot.ETHUSDT"))

    round_trip()


def sample_rows(day: date, n: int = 3) -> list[dict]:
    start, _ = day_bounds_us(day)
    return to_rows([{"price": "100.5", "qty": "0.25", "trades": 1, "time": start + i * 1000, "m": True, "M": True}
                    for i in range(n)])  # fmt: skip


def test_dump_with_the_unit_of_the_other_era_is_refused():
    us_rows = sample_rows(US_DAY)
    with pytest.raises(MalformedDataError, match=r"f\.csv: row 1: time = \d+ looks like µs, but spot dumps dated"):
        parse.agg_trades_from_csv(dump_csv(us_rows, US_DAY), "binance.spot.BTCUSDT", MS_DAY, "f.csv")
    with pytest.raises(MalformedDataError, match=r"f\.csv: row 1: time = \d+ looks like ms, but spot dumps dated from"):
        parse.agg_trades_from_csv(dump_csv(us_rows, MS_DAY), "binance.spot.BTCUSDT", US_DAY, "f.csv")


def test_rest_page_in_ms_is_refused():
    rows = sample_rows(US_DAY)
    rows[2]["T"] //= 1000
    with pytest.raises(MalformedDataError, match="url: row 3: time = .* looks like ms, but µs were asked for"):
        parse.agg_trades_from_json(rows, "binance.spot.BTCUSDT", "url")


def test_dump_row_outside_the_files_day_is_refused():
    rows = sample_rows(US_DAY)
    rows[1]["T"] += DAY_US
    with pytest.raises(MalformedDataError, match=r"f\.csv: row 2: time = .* outside the file's day 2025-01-02"):
        parse.agg_trades_from_csv(dump_csv(rows, US_DAY), "binance.spot.BTCUSDT", US_DAY, "f.csv")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1001,abc,0.25,5001,5001,{t},True,True", "row 2: price = 'abc' is not a decimal number"),
        ("1001,nan,0.25,5001,5001,{t},True,True", "row 2: price = nan is not a positive number"),
        ("1001,100.5,-1,5001,5001,{t},True,True", "row 2: qty = -1.0 is not a positive number"),
        ("1001,100.5,0.25,5001,5001,{t},yes,True", "row 2: is_buyer_maker = 'yes' is not true or false"),
        ("1001,100.5,0.25,5001,5001,{t},True", "row 2: is_best_match is missing"),
        ("1001,100.5,0.25,5001,5001,{t},True,True,7", "row 2: has 9 fields, expected 8"),
        ("1001,100.5,,5001,5001,{t},True,True", "row 2: qty is missing"),
        ("1001,100.5,0.25,5001,5000,{t},True,True", "row 2: last_trade_id = 5000 is below first_trade_id"),
        ("1001.5,100.5,0.25,5001,5001,{t},True,True", "row 2: agg_id = '1001.5' is not an integer"),
    ],
)
def test_malformed_dump_row_is_named(row, message):
    start, _ = day_bounds_us(US_DAY)
    lines = [
        f"1000,100.5,0.25,5000,5000,{start},True,True",
        row.format(t=start + 1),
        f"1002,1,1,5002,5002,{start + 2},True,True",
    ]
    with pytest.raises(MalformedDataError, match=f"^BTCUSDT-aggTrades-2025-01-02.zip: {message}"):
        parse.agg_trades_from_csv("\n".join(lines).encode(), "binance.spot.BTCUSDT", US_DAY, "BTCUSDT-aggTrades-2025-01-02.zip")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a": "1001"}, "row 2: field 'a' \\(agg_id\\) = '1001' is not an integer"),
        ({"p": 100.5}, "row 2: field 'p' \\(price\\) = 100.5 is not a decimal number"),
        ({"p": "1,5"}, "row 2: price = '1,5' is not a decimal number"),
        ({"m": "true"}, "row 2: field 'm' \\(is_buyer_maker\\) = 'true' is not true or false"),
        ({"M": None}, "row 2: field 'M' \\(is_best_match\\) = None is not true or false"),
    ],
)
def test_malformed_rest_row_is_named(change, message):
    rows = sample_rows(US_DAY)
    rows[1].update(change)
    with pytest.raises(MalformedDataError, match=f"^GET http://x/api/v3/aggTrades\\?fromId=1: {message}"):
        parse.agg_trades_from_json(rows, "binance.spot.BTCUSDT", "GET http://x/api/v3/aggTrades?fromId=1")


def test_rest_row_missing_a_field_is_named():
    rows = sample_rows(US_DAY)
    del rows[2]["q"]
    with pytest.raises(MalformedDataError, match=r"^src: row 3: field 'q' \(qty\) is missing"):
        parse.agg_trades_from_json(rows, "binance.spot.BTCUSDT", "src")


def test_a_24_hour_ticker_gives_each_symbols_trade_count():
    rows = [{"symbol": "BNBBTC", "openPrice": "99.00000000", "firstId": 28385, "lastId": 28460, "count": 76},
            {"symbol": "LTCBTC", "firstId": -1, "lastId": -1, "count": 0}]
    assert parse.trade_counts(rows, "src") == {"BNBBTC": 76, "LTCBTC": 0}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"symbol": "BNBBTC", "count": 76}, "not a list of tickers"),
        ([{"symbol": "BNBBTC", "count": 76}, {"count": 3}], r"ticker 2 = \{'count': 3\} has no symbol"),
        ([{"symbol": "BNBBTC", "count": "76"}], r"ticker 1 \(BNBBTC\): count = '76' is not a trade count"),
        ([{"symbol": "BNBBTC", "count": -1}], r"ticker 1 \(BNBBTC\): count = -1 is not a trade count"),
        ([{"symbol": "BNBBTC", "count": True}], r"ticker 1 \(BNBBTC\): count = True is not a trade count"),
        ([{"symbol": "BNBBTC"}], r"ticker 1 \(BNBBTC\): count = None is not a trade count"),
    ],
)
def test_a_malformed_24_hour_ticker_is_named(rows, message):
    with pytest.raises(MalformedDataError, match=f"^GET http://x/api/v3/ticker/24hr: {message}"):
        parse.trade_counts(rows, "GET http://x/api/v3/ticker/24hr")


def kline_row(open_us: int, unit_divisor: int = 1) -> list:
    close_us = open_us + 60_000_000 - (1 if unit_divisor == 1 else 1000)
    return [open_us // unit_divisor, "10.0", "12.5", "9.5", "11.0", "3.5", close_us // unit_divisor, "38.5", 7,
            "1.5", "16.5", "0"]  # fmt: skip


def test_rest_klines_parse():
    start, _ = day_bounds_us(US_DAY)
    frame = parse.klines_from_json([kline_row(start), kline_row(start + 60_000_000)], "binance.spot.BTCUSDT", "1m", "src")
    assert frame.schema == KLINE.polars
    assert frame["open_time"].dt.epoch("us").to_list() == [start, start + 60_000_000]
    assert frame["close_time"].dt.epoch("us").to_list() == [start + 59_999_999, start + 119_999_999]
    assert frame["trade_count"].to_list() == [7, 7]
    assert frame.row(0, named=True)["high"] == 12.5


def test_ms_kline_dump_close_time_becomes_the_last_microsecond():
    start, _ = day_bounds_us(MS_DAY)
    csv = ",".join(str(v) for v in kline_row(start, unit_divisor=1000)).encode() + b"\n"
    frame = parse.klines_from_csv(csv, "binance.spot.BTCUSDT", "1m", MS_DAY, "BTCUSDT-1m-2024-12-31.zip")
    assert frame["open_time"].dt.epoch("us").item() == start
    assert frame["close_time"].dt.epoch("us").item() == start + 59_999_999


def test_malformed_kline_row_is_named():
    start, _ = day_bounds_us(US_DAY)
    row = kline_row(start)
    row[8] = "7"
    with pytest.raises(MalformedDataError, match=r"^src: row 1: field 8 \(trade_count\) = '7' is not an integer"):
        parse.klines_from_json([row], "binance.spot.BTCUSDT", "1m", "src")


def test_sequence_gap_is_named():
    frame = parse.agg_trades_from_json(sample_rows(US_DAY, 5), "binance.spot.BTCUSDT", "src")
    parse.check_sequence(frame, "f.zip")
    with pytest.raises(MalformedDataError, match=r"^f\.zip: row 3: agg_id = 1003 breaks the sequence from 1000"):
        parse.check_sequence(frame.filter(pl.col("agg_id") != 1002), "f.zip")


def test_parses_a_full_day_of_btcusdt_dump():
    n = 1_500_000
    start, _ = day_bounds_us(US_DAY)
    rng = np.random.default_rng(1)
    source = pl.DataFrame(
        {
            "a": np.arange(n),
            "p": np.round(rng.uniform(90_000, 100_000, n), 2),
            "q": np.round(rng.uniform(0.00001, 2, n), 5),
            "f": np.arange(n) * 2,
            "l": np.arange(n) * 2 + 1,
            "T": np.sort(rng.integers(start, start + DAY_US, n)),
            "m": np.where(rng.integers(0, 2, n) == 1, "True", "False"),
            "M": np.full(n, "True"),
        }
    )
    data = source.write_csv(include_header=False).encode()
    frame = parse.agg_trades_from_csv(data, "binance.spot.BTCUSDT", US_DAY, "BTCUSDT-aggTrades-2025-01-02.zip")
    assert frame.height == n


def test_time_going_back_is_named():
    rows = sample_rows(US_DAY, 4)
    rows[2]["T"] = rows[0]["T"] - 1
    frame = parse.agg_trades_from_json(rows, "binance.spot.BTCUSDT", "src")
    with pytest.raises(MalformedDataError, match=r"^p: row 3: time = .* is before the previous trade's"):
        parse.check_sequence(frame, "p")
    with pytest.raises(MalformedDataError, match=r"^p: row 1: time = .* is before the previous trade's"):
        parse.check_sequence(frame.head(1), "p", first_id=1000, after=frame["time"][1])


# --- range checks at the edge: a hostile page is refused in one line, naming source, row and field --------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a": 2**63}, r"row 2: field 'a' \(agg_id\) = 9223372036854775808 is not an integer of 64 bits"),
        ({"f": -(2**63) - 1}, r"row 2: field 'f' \(first_trade_id\) = -9223372036854775809 is not an integer of 64"),
        ({"T": 2**64}, r"row 2: field 'T' \(time\) = 18446744073709551616 is not an integer timestamp of 64 bits"),
        ({"a": -1}, r"row 2: agg_id = -1 is negative or not a number"),
        ({"f": 5002, "l": 5000}, r"row 2: last_trade_id = 5000 is below first_trade_id"),
        ({"T": 2**62}, r"row 2: time = 4611686018427387904 is after 2100: not an exchange time"),
        ({"T": -5}, r"row 2: time = -5 looks like ms"),
        ({"p": "١٠٠"}, r"row 2: price = '١٠٠' is not a decimal number"),
    ],
)
def test_rest_ids_and_times_are_range_checked(change, message):
    rows = sample_rows(US_DAY)
    rows[1].update(change)
    with pytest.raises(MalformedDataError, match=f"^src: {message}"):
        parse.agg_trades_from_json(rows, "BTCUSDT", "src")


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (3, "13.0", r"high = 12.5 is below low"),
        (1, "13.0", r"high = 12.5 is below open"),
        (4, "9.0", r"close = 9.0 is below low"),
        (6, 0, r"close_time = 0 looks like ms"),
        (6, "open - 1", r"close_time = \d+ is below open_time"),
        (8, -1, r"trade_count = -1 is negative or not a number"),
        (8, 2**64, r"field 8 \(trade_count\) = 18446744073709551616 is not an integer of 64 bits"),
    ],
)
def test_rest_klines_are_range_checked(index, value, message):
    start, _ = day_bounds_us(US_DAY)
    row = kline_row(start)
    row[index] = start - 1 if value == "open - 1" else value
    with pytest.raises(MalformedDataError, match=f"^src: row 1: {message}"):
        parse.klines_from_json([row], "BTCUSDT", "1m", "src")


def test_a_huge_bad_value_is_quoted_cut_short():
    rows = sample_rows(US_DAY)
    rows[1]["p"] = "9" * 5_000 + "x"
    with pytest.raises(MalformedDataError) as raised:
        parse.agg_trades_from_json(rows, "BTCUSDT", "src")
    message = str(raised.value)
    assert message.startswith("src: row 2: price = '9999")
    assert message.endswith("(5003 characters) is not a decimal number")
    assert len(message) < 300


def test_a_csv_in_chunks_reads_like_the_whole_file_and_names_rows_across_it():
    start, _ = day_bounds_us(US_DAY)
    lines = [f"{1000 + i},100.5,0.25,{5000 + i},{5000 + i},{start + i},True,True\n" for i in range(5)]
    whole = parse.agg_trades_from_csv("".join(lines).encode(), "BTCUSDT", US_DAY, "f.zip")
    chunks = ["".join(lines[:2]).encode(), "".join(lines[2:]).encode()]
    assert parse.agg_trades_from_csv(chunks, "BTCUSDT", US_DAY, "f.zip").equals(whole)
    lines[3] = lines[3].replace("100.5", "١٠٠")
    chunks = ["".join(lines[:2]).encode(), "".join(lines[2:]).encode()]
    with pytest.raises(MalformedDataError, match=r"^f\.zip: row 4: price = '١٠٠' is not a decimal number"):
        parse.agg_trades_from_csv(chunks, "BTCUSDT", US_DAY, "f.zip")
