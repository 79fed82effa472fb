"""The stream edge is as strict as REST (#12 item 2): every way an event can be out of range is refused as a
`BadEvent` naming the field, never trusted and never another exception."""

from __future__ import annotations

import pytest

from streamforge.live.feed import BadEvent
from streamforge.venues.binance import events

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
