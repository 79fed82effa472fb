"""Binance spot's live streams as a `Feed`: combined streams over as few connections as Binance allows.

Per instrument `<symbol>@aggTrade`, `<symbol>@depth@100ms`, `<symbol>@kline_1m` and `<symbol>@bookTicker` (every
change of the best bid or ask, to the top-of-book dataset's topic), in µs (`timeUnit=MICROSECOND`). A connection
carries at most 1024 streams — 256 instruments at four streams each; the first URL_STREAMS are named in its URL (URLs
have length limits), the rest are subscribed by SUBSCRIBE messages of SUBSCRIBE_CHUNK streams, at most 5 control
messages a second (more and Binance closes the connection). An IP may attempt 300 connections per 5 minutes; REST
weight is per IP too, so a feed of one of n loaders takes 1/n of the weight budget. The server pings every 20 s and
the client library answers; `serverShutdown` announces a disconnect, which the loader meets by opening the new
connection first.

Wire shapes (combined stream `{"stream": name, "data": event}`):
    aggTrade     {"e":"aggTrade","E":..,"s":"BTCUSDT","a":..,"p":"..","q":"..","f":..,"l":..,"T":..,"m":..,"M":..}
    depthUpdate  {"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":[["p","q"],..],"a":[..]}
    kline        {"e":"kline","E":..,"s":..,"k":{"t":..,"T":..,"i":"1m","o":..,"c":..,"h":..,"l":..,"v":..,"n":..,"x":..,"q":..,"V":..,"Q":..}}
    bookTicker   {"u":..,"s":..,"b":"..","B":"..","a":"..","A":".."}  (no event type and no time: told by its stream name,
                 and timed when received)
    control      {"result":null,"id":1} / {"error":{"code":..,"msg":..},"id":1}; {"e":"serverShutdown","E":..}
"""

from __future__ import annotations

import itertools
import json

import polars as pl

from streamforge import settings
from streamforge.catalog import DATASETS, LIVE_KLINES_1M, TOP
from streamforge.errors import shown
from streamforge.instruments import Instrument
from streamforge.live.feed import (
    BadEvent,
    Book,
    BookUpdate,
    ConnectionPlan,
    Event,
    Feed,
    Kline,
    Reconnect,
    Record,
    Refused,
    Rules,
    Snapshot,
    Trade,
    json_object,
)
from streamforge.venues.binance import events
from streamforge.venues.binance.book import SpotBook
from streamforge.venues.binance.http import BinanceHttp
from streamforge.venues.binance.limiter import WeightLimiter
from streamforge.venues.binance.rest import BinanceRest
from streamforge.venues.market import Endpoints

MAX_STREAMS = 1024
URL_STREAMS = 100
SUBSCRIBE_CHUNK = 100
KLINE = f"kline_{DATASETS[LIVE_KLINES_1M].interval}"
BOOK_TICKER = "bookTicker"
SUFFIXES = ("aggTrade", "depth@100ms", KLINE, BOOK_TICKER)


class BinanceFeed(Feed):
    """What Binance's markets' feeds share: their REST client for repairs (with the feed's share of the weight
    budget: REST weight is per IP), symbols ↔ instrument ids, and the combined-stream message frame
    (`stream_event`)."""

    contiguous_trade_ids = True

    def __init__(self, endpoints: Endpoints, instruments: list[Instrument], rest: type[BinanceHttp], share: float) -> None:
        super().__init__(endpoints, instruments, share)
        budget = float(settings.get("STREAMFORGE_WEIGHT_BUDGET")) * share
        self.rest = rest(endpoints.rest_url, limiter=WeightLimiter(share=budget))
        self.by_symbol = {i.symbol: i.id for i in instruments}
        self.symbol_of = {i.id: i.symbol for i in instruments}
        self._ids = itertools.count(1)

    def instrument_of(self, symbol: object) -> str:
        instrument = self.by_symbol.get(symbol) if isinstance(symbol, str) else None
        if instrument is None:
            raise BadEvent(f"event for a symbol this loader does not follow: {shown(symbol)}")
        return instrument

    def trades_between(self, instrument: str, first: int, last: int) -> pl.DataFrame:
        return self.rest.agg_trades_between(self.symbol_of[instrument], first, last)

    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        return self.rest.klines(self.symbol_of[instrument], interval, start_us, end_us)

    def close(self) -> None:
        self.rest.close()


class BinanceSpotFeed(BinanceFeed):
    rules = Rules(control_per_s=5, connects=(300, 300.0))

    def __init__(self, endpoints: Endpoints, instruments: list[Instrument], share: float = 1.0) -> None:
        super().__init__(endpoints, instruments, BinanceRest, share)

    def plan(self) -> list[ConnectionPlan]:
        streams = [f"{i.symbol.lower()}@{suffix}" for i in self.instruments for suffix in subscribed(SUFFIXES)]
        return combined_plans(ws_base(self.endpoints), streams, MAX_STREAMS, "&timeUnit=MICROSECOND", self._ids)

    def parse(self, raw: str, received_us: int) -> list[Event]:
        stream, data, replies = stream_event(raw)
        if data is None:
            return replies
        instrument = self.instrument_of(data.get("s"))
        if stream.endswith(f"@{BOOK_TICKER}"):
            return [Record(TOP, instrument, events.book_ticker(data, instrument, received_us), received_us)]
        kind = data.get("e")
        if kind == "aggTrade":
            row = events.agg_trade(data, instrument)
            return [Trade(instrument, row, row["agg_id"], row["time"])]
        if kind == "depthUpdate":
            event = events.depth_update(data, instrument)
            return [BookUpdate(instrument, event.row(), event.event_time_us, event)]
        if kind == "kline":
            closed, row = events.kline(data, instrument)
            return [Kline(instrument, row, row["open_time"], closed)]
        raise BadEvent(f"unknown event type {shown(kind)}")

    def book(self, instrument: str, max_levels: int, max_buffered: int) -> Book:
        return SpotBook(instrument, max_levels, max_buffered)

    def snapshot(self, instrument: str, levels: int) -> Snapshot:
        return self.rest.depth(self.symbol_of[instrument], levels)


def ws_base(endpoints: Endpoints) -> str:
    return endpoints.ws_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")


def subscribed(wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The stream suffixes to subscribe, less bookTicker when STREAMFORGE_LIVE_BOOK_TICKER=0."""
    return wanted if settings.get("STREAMFORGE_LIVE_BOOK_TICKER") != "0" else tuple(s for s in wanted if s != BOOK_TICKER)


def combined_plans(base: str, streams: list[str], max_streams: int, query: str, ids) -> list[ConnectionPlan]:
    """Connections of at most `max_streams` combined streams each: the first URL_STREAMS named in the URL (`base` +
    /stream?streams=... + `query`), the rest subscribed by SUBSCRIBE messages of SUBSCRIBE_CHUNK streams (ids from
    the iterator `ids`)."""
    plans = []
    for start in range(0, len(streams), max_streams):
        chunk = streams[start : start + max_streams]
        url = f"{base}/stream?streams={'/'.join(chunk[:URL_STREAMS])}{query}"
        rest = chunk[URL_STREAMS:]
        subscribe = [
            json.dumps({"method": "SUBSCRIBE", "params": rest[i : i + SUBSCRIBE_CHUNK], "id": next(ids)})
            for i in range(0, len(rest), SUBSCRIBE_CHUNK)
        ]
        plans.append(ConnectionPlan(url, subscribe, frozenset(chunk)))
    return plans


def control(message: dict) -> list[Event]:
    """A message that is no stream event: a control reply or Binance's serverShutdown; BadEvent for anything else."""
    if message.get("e") == "serverShutdown":
        return [Reconnect("server-shutdown")]
    if "id" in message and "error" in message:
        return [Refused(f"control message {shown(message.get('id'))}: {shown(message.get('error'))}")]
    if "id" in message and "result" in message:
        return []  # a SUBSCRIBE acknowledged
    raise BadEvent(f"neither a stream event nor a control reply: {shown(message)}")


def stream_event(raw: str) -> tuple[str, dict | None, list[Event]]:
    """(the `stream` and `data` of a combined-stream message, []), or ("", None, the events of a control message);
    BadEvent when the message is neither."""
    message = json_object(raw)
    data = message.get("data")
    if data is None:
        return "", None, control(message)
    stream = message.get("stream")
    if not isinstance(data, dict) or not isinstance(stream, str):
        raise BadEvent("not a combined-stream message {stream, data}")
    return stream, data, []
