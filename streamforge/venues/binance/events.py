"""Binance spot WebSocket events → the records' fields, parsed once at the edge (times in µs).

As strict as the REST parser (`parse`): exact JSON types, decimals as ASCII strings that parse to finite numbers,
positive prices, ids that are non-negative 64-bit integers, `l >= f`, kline `low <= open, close <= high` and
`T >= t`, a best bid below the best ask, times between 2009 and 2100. An event that fails raises `BadEvent` naming the
field and why — never another exception — so the loader sends it to the dead-letter topic and carries on. Work is per
event (a few µs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import orjson

from streamforge.errors import shown
from streamforge.live.feed import BadEvent
from streamforge.schemas import INSTRUMENT

_ID_MAX = 2**63 - 1
# Event times: after Binance's first trade (2017) with a margin, before 2100; anything else is not a market time.
_EARLIEST_US, _LATEST_US = 1_230_768_000_000_000, 4_102_444_800_000_000
_DECIMAL_CHARS = frozenset("0123456789.-+eE")
_JOINED_DECIMAL_BYTES = b"0123456789.-+eE,"
_LIST, _PAIR, _FLOAT = {list}, {2}, {float}


@dataclass(slots=True)  # not frozen: a frozen dataclass takes four times as long to make, and one is made per event
class DepthEvent:
    instrument: str
    event_time_us: int
    first_update_id: int
    final_update_id: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]

    def row(self) -> dict:
        """The DEPTH_UPDATE record's fields; levels as (price, qty) pairs, which Arrow takes for its structs."""
        return {
            INSTRUMENT: self.instrument, "event_time": self.event_time_us, "first_update_id": self.first_update_id,
            "final_update_id": self.final_update_id, "bids": self.bids, "asks": self.asks,
        }


def _field(data: dict, key: str, kind: type, what: str) -> object:
    value = data.get(key)
    if type(value) is not kind:
        raise BadEvent(f"{what}: field {key!r} = {shown(value)} is not {kind.__name__}")
    return value


def _id(data: dict, key: str, what: str) -> int:
    value = _field(data, key, int, what)
    if not 0 <= value <= _ID_MAX:
        raise BadEvent(f"{what}: field {key!r} = {shown(value)} is not an id (0 to 2^63 - 1)")
    return value


def _time(data: dict, key: str, what: str) -> int:
    value = _field(data, key, int, what)
    if not _EARLIEST_US <= value < _LATEST_US:
        raise BadEvent(f"{what}: field {key!r} = {shown(value)} is not a time in µs between 2009 and 2100")
    return value


def _decimal(text: object, what: str, key: str, positive: bool) -> float:
    # float() also reads '١٢٣' and ' 1 ', which no exchange sends: only ASCII number characters are accepted.
    if type(text) is not str or not text or not _DECIMAL_CHARS.issuperset(text):
        raise BadEvent(f"{what}: field {key!r} = {shown(text)} is not a decimal string")
    try:
        value = float(text)
    except ValueError:
        raise BadEvent(f"{what}: field {key!r} = {shown(text)} is not a decimal number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise BadEvent(f"{what}: field {key!r} = {shown(text)} is not a {'positive' if positive else 'non-negative'} number")
    return value


def agg_trade(data: dict, instrument: str) -> dict:
    """An aggTrade event of `instrument` → the AGG_TRADE record's fields."""
    what = "aggTrade"
    first, last = _id(data, "f", what), _id(data, "l", what)
    if last < first:
        raise BadEvent(f"{what}: last trade id l={last} is below the first f={first}")
    return {
        INSTRUMENT: instrument,
        "agg_id": _id(data, "a", what),
        "price": _decimal(data.get("p"), what, "p", positive=True),
        "qty": _decimal(data.get("q"), what, "q", positive=True),
        "first_trade_id": first,
        "last_trade_id": last,
        "time": _time(data, "T", what),
        "is_buyer_maker": _field(data, "m", bool, what),
        "is_best_match": _field(data, "M", bool, what) if "M" in data else None,
        "contract_size": None,
    }


def book_ticker(data: dict, instrument: str, time_us: int) -> dict:
    """A bookTicker of `instrument` → the TOP_OF_BOOK record's fields, `seq_id` its `u` (the order book's update id,
    the depth stream's). `time_us` is the caller's: spot's payload carries no time at all, so the feed gives the time
    the message was received; futures' gives its transaction time `T`."""
    what = "bookTicker"
    bid, ask = _decimal(data.get("b"), what, "b", positive=True), _decimal(data.get("a"), what, "a", positive=True)
    if bid >= ask:
        raise BadEvent(f"{what}: best bid b={bid} is not below the best ask a={ask}")
    return {
        INSTRUMENT: instrument,
        "time": time_us,
        "seq_id": _id(data, "u", what),
        "bid_price": bid,
        "bid_qty": _decimal(data.get("B"), what, "B", positive=True),
        "ask_price": ask,
        "ask_qty": _decimal(data.get("A"), what, "A", positive=True),
    }


def _levels(side: object, what: str, key: str) -> list[tuple[float, float]]:
    """[price, qty] pairs of decimal strings → (float, float), each checked by `_decimal`: the strict path, which
    names the value that is wrong."""
    if type(side) is not list or not {*map(type, side)} <= _LIST or not {*map(len, side)} <= _PAIR:
        raise BadEvent(f"{what}: field {key!r} is not a list of [price, qty] pairs")
    return [(_decimal(p, what, key, positive=True), _decimal(q, what, key, positive=False)) for p, q in side]


def _sides(bids: object, asks: object, what: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Both sides of a depth event (`_levels`), read together: they hold dozens of values, and a float() per value
    was the largest part of the loader's cost per event. So both sides are checked with C-level passes (types,
    lengths, the characters of their joined text) and their values read by one orjson call on that text as a JSON
    array; orjson rounds a decimal to the nearest double, as float() does. Whatever is not plainly a decimal there
    (a JSON error, an integer, a negative price...) is read again by `_levels`, which refuses it or reads it as
    float() does."""
    if not (type(bids) is list and type(asks) is list and {*map(type, bids), *map(type, asks)} <= _LIST
            and {*map(len, bids), *map(len, asks)} <= _PAIR):
        return _levels(bids, what, "b"), _levels(asks, what, "a")
    values = _numbers([*chain.from_iterable(bids), *chain.from_iterable(asks)])
    if values is not None:
        prices, qtys = values[0::2], values[1::2]
        if not prices or (min(prices) > 0 and min(qtys) >= 0):
            pairs = [*zip(prices, qtys)]
            return pairs[: len(bids)], pairs[len(bids) :]
    return _levels(bids, what, "b"), _levels(asks, what, "a")


def _numbers(texts: list) -> list[float] | None:
    """The finite numbers that `texts` (decimal strings) spell, read in one orjson call; None where any text is not
    a string of `_DECIMAL_CHARS` that JSON reads as a finite float (+1, .5, 1., 5, 1e999 are left to float())."""
    try:
        joined = ",".join(texts).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if joined.translate(None, _JOINED_DECIMAL_BYTES):  # a character no decimal has (a space, a letter...)
        return None
    try:
        values = orjson.loads(b"[" + joined + b"]")
    except orjson.JSONDecodeError:  # an empty text, a form JSON does not allow, an overflow to infinity
        return None
    # A comma inside a text adds a value; an integer is not a float; orjson refuses an infinity, checked all the same.
    if len(values) != len(texts) or not {*map(type, values)} <= _FLOAT or math.inf in values:
        return None
    return values


def depth_update(data: dict, instrument: str) -> DepthEvent:
    what = "depthUpdate"

    first, final = _id(data, "U", what), _id(data, "u", what)
    if final < first:
        raise BadEvent(f"{what}: final update id u={final} is below the first U={first}")
    bids, asks = _sides(data.get("b"), data.get("a"), what)
    return DepthEvent(instrument, _time(data, "E", what), first, final, bids, asks)


def kline(data: dict, instrument: str) -> tuple[bool, dict]:
    """A kline event of `instrument` → (closed?, the KLINE record's fields, times in µs)."""
    what = "kline"
    k = data.get("k")
    if type(k) is not dict:
        raise BadEvent(f"{what}: field 'k' is not an object")
    price = {key: _decimal(k.get(key), what, f"k.{key}", positive=True) for key in "ohlc"}
    amount = {key: _decimal(k.get(key), what, f"k.{key}", positive=False) for key in "vqVQ"}
    if not price["l"] <= min(price["o"], price["c"]) <= max(price["o"], price["c"]) <= price["h"]:
        raise BadEvent(f"{what}: prices o={price['o']} h={price['h']} l={price['l']} c={price['c']} are not low <= open, close <= high")
    open_us, close_us = _time(k, "t", what), _time(k, "T", what)
    if close_us < open_us:
        raise BadEvent(f"{what}: close time T={close_us} is before the open time t={open_us}")
    count = _field(k, "n", int, what)
    if count < 0:
        raise BadEvent(f"{what}: trade count n={count} is negative")
    row = {
        INSTRUMENT: instrument,
        "interval": _field(k, "i", str, what),
        "open_time": open_us,
        "open": price["o"], "high": price["h"], "low": price["l"], "close": price["c"],
        "volume": amount["v"],
        "close_time": close_us,
        "quote_volume": amount["q"],
        "trade_count": count,
        "taker_buy_base_volume": amount["V"],
        "taker_buy_quote_volume": amount["Q"],
    }
    return _field(k, "x", bool, what), row
