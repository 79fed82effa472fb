"""The stream edge is as strict as REST (#12 item 2): every way an event can be out of range is refused as a
`BadEvent` naming the field, never trusted and never another exception. Book tickers (spot's and futures') become
top-of-book records there too."""

from __future__ import annotations

import json
import random

import pytest

from streamforge.catalog import TOP
from streamforge.instruments import parse_instrument
from streamforge.live.feed import BadEvent, Record
from streamforge.venues.binance import events
from streamforge.venues.binance.live import BinanceSpotFeed
from streamforge.venues.binance.usdm import events as usdm_events
from streamforge.venues.binance.usdm.live import BinanceUsdmFeed
from streamforge.venues.market import Endpoints

T_US = 1_735_776_000_000_000  # 2025-01-02 00:00 UTC
AGG = {"e": "aggTrade", "a": 100, "p": "97000.10", "q": "0.5", "f": 200, "l": 201, "T": T_US, "m": True, "M": True}
KLINE = {"e": "kline", "k": {"t": T_US, "T": T_US + 59_999_999, "i": "1m", "o": "10", "h": "12", "l": "9", "c": "11",
                             "v": "3", "q": "30", "V": "1", "Q": "10", "n": 4, "x": True}}
DEPTH = {"e": "depthUpdate", "E": T_US, "U": 10, "u": 12, "b": [["10.0", "1"]], "a": [["11.0", "0"]]}


def test_valid_events_parse():
    assert events.agg_trade(AGG, "binance.spot.BTCUSDT")["agg_id"] == 100
    assert events.kline(KLINE, "binance.spot.BTCUSDT")[1]["trade_count"] == 4
    assert events.depth_update(DEPTH, "binance.spot.BTCUSDT").final_update_id == 12


@pytest.mark.parametrize(("change", "named"), [
    ({"a": -1}, "'a' = -1 is not an id"),
    ({"f": -5, "l": -4}, "'f' = -5 is not an id"),
    ({"a": 2**63}, "is not an id (0 to 2^63 - 1)"),
    ({"l": 199}, "last trade id l=199 is below the first f=200"),
    ({"T": 2**62}, "'T' = 4611686018427387904 is not a time in µs"),
    ({"T": -1}, "'T' = -1 is not a time"),
    ({"p": "١٢٣"}, "'p' = '١٢٣' is not a decimal string"),
    ({"q": "0"}, "'q' = '0' is not a positive number"),
    ({"p": "nan"}, "'p' = 'nan' is not a decimal string"),
    ({"a": 100.0}, "'a' = 100.0 is not int"),
    ({"m": 1}, "'m' = 1 is not bool"),
])
def test_an_aggtrade_out_of_range_is_refused_naming_the_field(change, named):
    with pytest.raises(BadEvent, match="^aggTrade: ") as refused:
        events.agg_trade(AGG | change, "binance.spot.BTCUSDT")
    assert named in str(refused.value)


@pytest.mark.parametrize(("change", "named"), [
    ({"h": "8"}, "are not low <= open, close <= high"),
    ({"l": "11.5"}, "are not low <= open, close <= high"),
    ({"T": T_US - 1}, "close time T="),
    ({"n": -1}, "trade count n=-1 is negative"),
    ({"v": "-3"}, "'k.v' = '-3' is not a non-negative number"),
    ({"o": "１０"}, "'k.o' = '１０' is not a decimal string"),
    ({"t": 2**62}, "'t' = 4611686018427387904 is not a time"),
])
def test_a_kline_out_of_range_is_refused_naming_the_field(change, named):
    with pytest.raises(BadEvent, match="^kline: ") as refused:
        events.kline({"e": "kline", "k": KLINE["k"] | change}, "binance.spot.BTCUSDT")
    assert named in str(refused.value)


@pytest.mark.parametrize(("change", "named"), [
    ({"U": -1}, "'U' = -1 is not an id"),
    ({"u": 9}, "final update id u=9 is below the first U=10"),
    ({"u": 2**64}, "is not an id"),
    ({"b": [["10.0"]]}, "'b' is not a list of [price, qty] pairs"),
    ({"a": [["0", "1"]]}, "'a' = '0' is not a positive number"),
    ({"E": 2**62}, "'E' = 4611686018427387904 is not a time"),
])
def test_a_depth_update_out_of_range_is_refused_naming_the_field(change, named):
    with pytest.raises(BadEvent, match="^depthUpdate: ") as refused:
        events.depth_update(DEPTH | change, "binance.spot.BTCUSDT")
    assert named in str(refused.value)


TICKER = {"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000", "a": "25.36520000", "A": "40.66000000"}
FUTURES_TICKER = TICKER | {"e": "bookTicker", "E": T_US // 1000 + 2, "T": T_US // 1000}


def test_a_spot_book_ticker_is_a_top_of_book_at_the_time_given_and_a_futures_one_at_its_transaction_time():
    spot = events.book_ticker(TICKER, "binance.spot.BNBUSDT", T_US + 5)
    assert spot == {"instrument": "binance.spot.BNBUSDT", "time": T_US + 5, "seq_id": 400900217, "bid_price": 25.3519,
                    "bid_qty": 31.21, "ask_price": 25.3652, "ask_qty": 40.66}
    perp = usdm_events.book_ticker(FUTURES_TICKER, "binance.usdm.BNBUSDT")
    assert perp == spot | {"instrument": "binance.usdm.BNBUSDT", "time": T_US}


@pytest.mark.parametrize(("change", "named"), [
    ({"u": -1}, "'u' = -1 is not an id"),
    ({"u": "400900217"}, "'u' = '400900217' is not int"),
    ({"b": "0"}, "'b' = '0' is not a positive number"),
    ({"B": "0.00000000"}, "'B' = '0.00000000' is not a positive number"),
    ({"a": 25.3652}, "'a' = 25.3652 is not a decimal string"),
    ({"A": None}, "'A' = None is not a decimal string"),
    ({"b": "25.36520000"}, "best bid b=25.3652 is not below the best ask a=25.3652"),
])
def test_a_book_ticker_out_of_range_is_refused_naming_the_field(change, named):
    for refused in (lambda: events.book_ticker(TICKER | change, "binance.spot.BNBUSDT", T_US),
                    lambda: usdm_events.book_ticker(FUTURES_TICKER | change, "binance.usdm.BNBUSDT")):
        with pytest.raises(BadEvent, match="^bookTicker: ") as error:
            refused()
        assert named in str(error.value)


@pytest.mark.parametrize(("change", "named"), [
    ({"T": T_US}, "'T' = 1735776000000000000 is not a time in µs between 2009 and 2100"),
    ({"T": None}, "'T' = None is not a time in ms"),
])
def test_a_futures_book_ticker_needs_its_transaction_time_in_ms(change, named):
    with pytest.raises(BadEvent, match="^bookTicker: ") as refused:
        usdm_events.book_ticker(FUTURES_TICKER | change, "binance.usdm.BNBUSDT")
    assert named in str(refused.value)


@pytest.fixture
def feeds(tmp_path):
    where = Endpoints("http://127.0.0.1:9", "http://127.0.0.1:9", "ws://127.0.0.1:9", tmp_path)
    made = (BinanceSpotFeed(where, [parse_instrument("binance.spot.BNBUSDT")]),
            BinanceUsdmFeed(where, [parse_instrument("binance.usdm.BNBUSDT")]))
    yield made
    for feed in made:
        feed.close()


def test_book_tickers_are_left_out_when_the_setting_says_so(feeds, monkeypatch):
    monkeypatch.setenv("STREAMFORGE_LIVE_BOOK_TICKER", "0")
    streams = {s for feed in feeds for plan in feed.plan() for s in plan.streams}
    assert "bnbusdt@depth@100ms" in streams and not any(s.endswith("@bookTicker") for s in streams)


def test_the_feeds_subscribe_book_tickers_and_publish_them_as_top_of_book(feeds):
    spot, perp = feeds
    assert {s for plan in spot.plan() for s in plan.streams} >= {"bnbusdt@bookTicker", "bnbusdt@depth@100ms"}
    [public] = [plan for plan in perp.plan() if "/public/" in plan.url]
    assert public.streams == {"bnbusdt@depth@100ms", "bnbusdt@bookTicker"}
    # Spot's bookTicker has no event type: its stream's name says what it is, and its time is when it was received.
    [top] = spot.parse(json.dumps({"stream": "bnbusdt@bookTicker", "data": TICKER}), T_US + 7)
    assert isinstance(top, Record) and top.dataset == TOP and top.time_us == top.row["time"] == T_US + 7
    [top] = perp.parse(json.dumps({"stream": "bnbusdt@bookTicker", "data": FUTURES_TICKER}), T_US + 7)
    assert top.dataset == TOP and top.time_us == top.row["time"] == T_US and top.row["seq_id"] == 400900217
    with pytest.raises(BadEvent, match="^bookTicker: field 'b'"):
        spot.parse(json.dumps({"stream": "bnbusdt@bookTicker", "data": TICKER | {"b": "x"}}), T_US)
    with pytest.raises(BadEvent, match=r"not a combined-stream message \{stream, data\}"):
        spot.parse(json.dumps({"data": TICKER}), T_US)


@pytest.mark.parametrize("text", [
    "97000.10000000", "0.00000001", "5", "+1.5", ".5", "2.", "1e5", "1E-2", "1.5e+3", "0", "-0", "0012.5",
    "0.1000000000000000055511151231257827", "123456789012345678901234567890.5", "2.4703282292062328e-324",
])
def test_depth_levels_are_the_numbers_float_reads_whatever_the_decimal_form(text):
    update = events.depth_update(DEPTH | {"b": [["10.0", text], ["9.5", "1"]], "a": [["11.0", text]]},
                                 "binance.spot.BTCUSDT")
    assert update.bids == [(10.0, float(text)), (9.5, 1.0)] and update.asks == [(11.0, float(text))]
    assert all(type(value) is float for level in update.bids + update.asks for value in level)


def test_many_depth_levels_read_at_once_are_those_read_one_by_one():
    rng = random.Random(7)
    texts = [f"{rng.uniform(0, 10 ** rng.randint(0, 8)):.{rng.randint(0, 17)}f}" for _ in range(2_000)]
    texts += [repr(rng.uniform(1e-9, 1e9)) for _ in range(2_000)]
    bids = [[text, texts[i - 1]] for i, text in enumerate(texts) if float(text) > 0]
    update = events.depth_update(DEPTH | {"b": bids, "a": []}, "binance.spot.BTCUSDT")
    assert update.bids == [(float(price), float(qty)) for price, qty in bids]


@pytest.mark.parametrize(("side", "named"), [
    ({"b": [["10.0", " 1"]]}, "'b' = ' 1' is not a decimal string"),
    ({"b": [["10.0", "1,5"]]}, "'b' = '1,5' is not a decimal string"),
    ({"a": [["11.0", ""]]}, "'a' = '' is not a decimal string"),
    ({"a": [["1e999", "1"]]}, "'a' = '1e999' is not a positive number"),
    ({"a": [["11.0", "-1e999"]]}, "'a' = '-1e999' is not a non-negative number"),
    ({"b": [["10.0", "0x1"]]}, "'b' = '0x1' is not a decimal string"),
    ({"b": [["10.0", 1.5]]}, "'b' = 1.5 is not a decimal string"),
    ({"b": [["10.0", "1"], "12"]}, "'b' is not a list of [price, qty] pairs"),
    ({"a": {"11.0": "1"}}, "'a' is not a list of [price, qty] pairs"),
    ({"b": [["-10.0", "1"]]}, "'b' = '-10.0' is not a positive number"),
])
def test_a_depth_level_that_is_no_decimal_is_refused_naming_its_side(side, named):
    with pytest.raises(BadEvent, match="^depthUpdate: ") as refused:
        events.depth_update(DEPTH | side, "binance.spot.BTCUSDT")
    assert named in str(refused.value)
