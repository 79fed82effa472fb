"""USD-M futures WebSocket events → the records' fields, parsed once at the edge, as strictly as spot's (`events`).

Futures events are in ms (no time-unit switch exists on fstream): times are checked to be integers and brought to µs
before spot's checks run on them, so a µs value sent by mistake falls outside 2009..2100 and is refused. Shapes
(../shared/docs/binance-futures.md, "Payloads"):
    aggTrade         {"e":"aggTrade","E":..,"s":..,"a":..,"p":"..","q":"..","f":..,"l":..,"T":..,"m":..}  (no M)
    depthUpdate      {"e":"depthUpdate","E":..,"T":..,"s":..,"U":..,"u":..,"pu":..,"b":[..],"a":[..]}
    markPriceUpdate  {"e":"markPriceUpdate","E":..,"s":..,"p":"..","i":"..","P":"..","r":"..","T":..}
    forceOrder       {"e":"forceOrder","E":..,"o":{"s":..,"S":..,"o":..,"f":..,"q":"..","p":"..","ap":"..","X":..,
                      "l":"..","z":"..","T":..}}
    kline            {"e":"kline","E":..,"s":..,"k":{"t":..,"T":..,"i":..,"o":..,...,"x":..}}
    bookTicker       {"e":"bookTicker","u":..,"E":..,"T":..,"s":..,"b":"..","B":"..","a":"..","A":".."}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streamforge.errors import shown
from streamforge.live.feed import BadEvent
from streamforge.schemas import INSTRUMENT
from streamforge.venues.binance import events as spot
from streamforge.venues.binance.events import DepthEvent

US_PER_MS = 1000
SIDES = ("BUY", "SELL")


@dataclass(frozen=True, slots=True)
class FuturesDepth:
    """A futures depth diff: spot's fields plus `pu`, the final update id of the stream's previous event."""

    depth: DepthEvent
    previous_final_update_id: int

    @property
    def first_update_id(self) -> int:
        return self.depth.first_update_id

    @property
    def final_update_id(self) -> int:
        return self.depth.final_update_id

    @property
    def event_time_us(self) -> int:
        return self.depth.event_time_us

    @property
    def bids(self) -> list[tuple[float, float]]:
        return self.depth.bids

    @property
    def asks(self) -> list[tuple[float, float]]:
        return self.depth.asks


def _in_us(data: dict, keys: tuple[str, ...], what: str, last_ms: tuple[str, ...] = ()) -> dict:
    """`data` with its ms times in µs (a close time `last_ms` at the last µs of its ms); a time that is not an
    integer is refused."""
    converted = dict(data)
    for key in keys:
        value = data.get(key)
        if type(value) is not int or not 0 <= value <= (2**63 - 1) // US_PER_MS:
            raise BadEvent(f"{what}: field {key!r} = {shown(value)} is not a time in ms")
        converted[key] = value * US_PER_MS + (US_PER_MS - 1 if key in last_ms else 0)
    return converted


def agg_trade(data: dict, instrument: str) -> dict:
    """An aggTrade event → AGG_TRADE fields; is_best_match null (futures have no `M`)."""
    row = spot.agg_trade(_in_us(data, ("T",), "aggTrade"), instrument)
    return row | {"is_best_match": None}


def depth_update(data: dict, instrument: str) -> FuturesDepth:
    depth = spot.depth_update(_in_us(data, ("E",), "depthUpdate"), instrument)
    return FuturesDepth(depth, spot._id(data, "pu", "depthUpdate"))


def kline(data: dict, instrument: str) -> tuple[bool, dict]:
    k = data.get("k")
    if type(k) is not dict:
        raise BadEvent("kline: field 'k' is not an object")
    return spot.kline(data | {"k": _in_us(k, ("t", "T"), "kline", last_ms=("T",))}, instrument)


def book_ticker(data: dict, instrument: str) -> dict:
    """A bookTicker → TOP_OF_BOOK fields, at its transaction time `T`."""
    what = "bookTicker"
    return spot.book_ticker(data, instrument, spot._time(_in_us(data, ("T",), what), "T", what))


def mark_price(data: dict, instrument: str) -> dict:
    """A markPriceUpdate → MARK_PRICE fields."""
    what = "markPriceUpdate"
    data = _in_us(data, ("E", "T"), what)
    rate = data.get("r")
    if type(rate) is not str or not rate:
        raise BadEvent(f"{what}: field 'r' = {shown(rate)} is not a decimal string")
    try:
        funding = float(rate)  # may be negative, unlike every other decimal here
    except ValueError:
        raise BadEvent(f"{what}: field 'r' = {shown(rate)} is not a decimal number") from None
    if not math.isfinite(funding):
        raise BadEvent(f"{what}: field 'r' = {shown(rate)} is not a finite number")
    return {
        INSTRUMENT: instrument,
        "time": spot._time(data, "E", what),
        "mark_price": spot._decimal(data.get("p"), what, "p", positive=True),
        "index_price": spot._decimal(data.get("i"), what, "i", positive=True),
        "estimated_settle_price": spot._decimal(data.get("P"), what, "P", positive=False),
        "funding_rate": funding,
        "next_funding_time": spot._time(data, "T", what),
    }


def force_order(data: dict, instrument: str) -> dict:
    """A forceOrder → LIQUIDATION fields."""
    what = "forceOrder"
    order = data.get("o")
    if type(order) is not dict:
        raise BadEvent(f"{what}: field 'o' is not an object")
    order = _in_us(order, ("T",), what)
    side = order.get("S")
    if side not in SIDES:
        raise BadEvent(f"{what}: side o.S = {shown(side)} is not BUY or SELL")
    return {
        INSTRUMENT: instrument,
        "time": spot._time(order, "T", what),
        "side": side,
        "price": spot._decimal(order.get("p"), what, "o.p", positive=True),
        "average_price": spot._decimal(order.get("ap"), what, "o.ap", positive=False),
        "qty": spot._decimal(order.get("q"), what, "o.q", positive=True),
        "filled_qty": spot._decimal(order.get("z"), what, "o.z", positive=False),
        "status": spot._field(order, "X", str, what),
    }


def symbol_of(data: dict) -> object:
    """The symbol an event is about: `s`, or `o.s` for a forceOrder."""
    if data.get("e") == "forceOrder" and isinstance(data.get("o"), dict):
        return data["o"].get("s")
    return data.get("s")
