"""Parse Binance spot WebSocket stream events once, at the edge, into the records' fields (times in µs).

Checks are strict, like the REST parser's (`streamforge.venues.binance.parse`): exact JSON types, decimals as strings that
parse, positive prices. An event that fails raises `BadEvent` with a reason a person can act on; the loader sends it
to the dead-letter topic and carries on. Work is per event (a few µs), not per page: events arrive one at a time and
the loader must decide about each one (duplicate? gap?) before it is published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streamforge.schemas import INSTRUMENT


class BadEvent(ValueError):
    """An event that does not match its Binance format; the message says which field and why."""


@dataclass(frozen=True)
class DepthEvent:
    instrument: str
    event_time_us: int
    first_update_id: int
    final_update_id: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]

    def row(self) -> dict:
        """The DEPTH_UPDATE record's fields."""
        def levels(side: list[tuple[float, float]]) -> list[dict]:
            return [{"price": p, "qty": q} for p, q in side]

        return {
            INSTRUMENT: self.instrument, "event_time": self.event_time_us, "first_update_id": self.first_update_id,
            "final_update_id": self.final_update_id, "bids": levels(self.bids), "asks": levels(self.asks),
        }


def _field(data: dict, key: str, kind: type, what: str) -> object:
    value = data.get(key)
    if type(value) is not kind:
        raise BadEvent(f"{what}: field {key!r} = {value!r} is not {kind.__name__}")
    return value


def _decimal(text: object, what: str, key: str, positive: bool) -> float:
    if type(text) is not str:
        raise BadEvent(f"{what}: field {key!r} = {text!r} is not a decimal string")
    try:
        value = float(text)
    except ValueError:
        raise BadEvent(f"{what}: field {key!r} = {text!r} is not a decimal number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise BadEvent(f"{what}: field {key!r} = {text!r} is not a {'positive' if positive else 'non-negative'} number")
    return value


def agg_trade(data: dict, instrument: str) -> dict:
    """An aggTrade event of `instrument` → the AGG_TRADE record's fields."""
    what = "aggTrade"
    return {
        INSTRUMENT: instrument,
        "agg_id": _field(data, "a", int, what),
        "price": _decimal(data.get("p"), what, "p", positive=True),
        "qty": _decimal(data.get("q"), what, "q", positive=True),
        "first_trade_id": _field(data, "f", int, what),
        "last_trade_id": _field(data, "l", int, what),
        "time": _field(data, "T", int, what),
        "is_buyer_maker": _field(data, "m", bool, what),
        "is_best_match": _field(data, "M", bool, what) if "M" in data else None,
        "contract_size": None,
    }


def depth_update(data: dict, instrument: str) -> DepthEvent:
    what = "depthUpdate"

    def levels(key: str) -> list[tuple[float, float]]:
        side = data.get(key)
        if type(side) is not list or not all(type(level) is list and len(level) == 2 for level in side):
            raise BadEvent(f"{what}: field {key!r} is not a list of [price, qty] pairs")
        return [(_decimal(p, what, key, positive=True), _decimal(q, what, key, positive=False)) for p, q in side]

    first, final = _field(data, "U", int, what), _field(data, "u", int, what)
    if final < first:
        raise BadEvent(f"{what}: final update id u={final} is below the first U={first}")
    return DepthEvent(instrument, _field(data, "E", int, what), first, final, levels("b"), levels("a"))


def kline(data: dict, instrument: str) -> tuple[bool, dict]:
    """A kline event of `instrument` → (closed?, the KLINE record's fields, times in µs)."""
    what = "kline"
    k = data.get("k")
    if type(k) is not dict:
        raise BadEvent(f"{what}: field 'k' is not an object")
    price = {key: _decimal(k.get(key), what, f"k.{key}", positive=True) for key in "ohlc"}
    amount = {key: _decimal(k.get(key), what, f"k.{key}", positive=False) for key in "vqVQ"}
    open_us, close_us = _field(k, "t", int, what), _field(k, "T", int, what)
    row = {
        INSTRUMENT: instrument,
        "interval": _field(k, "i", str, what),
        "open_time": open_us,
        "open": price["o"], "high": price["h"], "low": price["l"], "close": price["c"],
        "volume": amount["v"],
        "close_time": close_us,
        "quote_volume": amount["q"],
        "trade_count": _field(k, "n", int, what),
        "taker_buy_base_volume": amount["V"],
        "taker_buy_quote_volume": amount["Q"],
    }
    return _field(k, "x", bool, what), row
