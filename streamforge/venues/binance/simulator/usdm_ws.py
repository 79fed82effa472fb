"""The simulator's USD-M futures WebSocket streams, routed as fstream routes them since 2026-03:

* `/public/ws/<stream>`, `/public/stream?streams=a/b`: `<s>@depth`, `<s>@depth@500ms`, `<s>@depth@100ms`,
  `<s>@bookTicker`;
* `/market/ws/<stream>`, `/market/stream?streams=a/b`: `<s>@aggTrade`, `<s>@markPrice`, `<s>@markPrice@1s`,
  `<s>@forceOrder`, `<s>@kline_<interval>`.

A stream on the wrong route is refused, as the retired unrouted URLs are (they acknowledge market streams and then
send nothing: binance-public-data #472). Times are ms; at most 200 streams a connection and 10 incoming messages a
second. Depth diffs carry `pu`, the previous event's `u`; update ids are spaced ID_STEP apart per 100 ms state so that
an event's U is *not* the previous u + 1, as on Binance (a capture: never), and only the pu chain tells a client that
nothing was lost. A bookTicker's `u` is the u of the diff that ends at the state whose top it shows (E and T that
state's time), sent for every state whose best bid or ask changed. `forceOrder` sends the latest liquidation of each
1,000 ms, nothing when there was none — a snapshot, not a complete record, like Binance's. Events come from the same
market as the futures REST endpoints and dump files; the spot WebSocket's faults apply.
"""

from __future__ import annotations

import numpy as np
import orjson
import polars as pl
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from streamforge.sim import book
from streamforge.sim.calendar import US_PER_MS, US_PER_S
from streamforge.sim.klines import INTERVALS
from streamforge.sim.market import Market
from streamforge.sim.state import SimState
from streamforge.venues.binance.simulator import wire
from streamforge.venues.binance.simulator.ws import (
    Feed, Session, Stream, StreamError, book_tickers, by_kind, depth, klines, serve_session, trades,
)

USDM = "binance.usdm"
ID_STEP = 7
ROUTES = {"public": ("depth", "bookTicker"), "market": ("aggTrade", "markPrice", "forceOrder", "kline")}
MARK_EVERY_S = {"markPrice": 3, "markPrice@1s": 1}
FORCE_ORDER_WINDOW_US = US_PER_S


def wire_ids(first_state: int, final_state: int) -> tuple[int, int, int]:
    """(U, u, pu) of the diff from state first_state - 1 to final_state."""
    return first_state * ID_STEP - ID_STEP // 2, final_state * ID_STEP, (first_state - 1) * ID_STEP


def snapshot_id(state: int) -> int:
    """lastUpdateId of the book's state `state` (what /fapi/v1/depth answers)."""
    return state * ID_STEP


def state_of(update_id: int) -> int:
    """The book state a snapshot id or an event's u names."""
    return update_id // ID_STEP


def parse_stream(name: str, route: str, sim: SimState) -> Stream:
    symbol, _, rest = name.partition("@")
    if symbol != symbol.lower() or symbol.upper() not in sim.market.listed(USDM, sim.clock.today()):
        raise StreamError(f"Invalid stream name {name!r}")
    symbol, key = symbol.upper(), f"{USDM}.{symbol.upper()}"
    if rest in ("depth", "depth@500ms", "depth@100ms"):
        stream = Stream(name, symbol, "depth", every_updates={"depth": 2, "depth@500ms": 5}.get(rest, 1), key=key)
    elif rest in ("aggTrade", "forceOrder", "bookTicker"):
        stream = Stream(name, symbol, rest, key=key)
    elif rest in MARK_EVERY_S:
        stream = Stream(name, symbol, "markPrice", every_updates=MARK_EVERY_S[rest], key=key)
    elif rest.startswith("kline_") and rest[6:] in INTERVALS:
        stream = Stream(name, symbol, "kline", interval=rest[6:], key=key)
    else:
        raise StreamError(f"Invalid stream name {name!r}")
    if stream.kind not in ROUTES[route]:
        raise StreamError(f"{name!r} is not served on /{route}")
    return stream


class UsdmFeed(Feed):
    def __init__(self, stream: Stream, now_us: int) -> None:
        super().__init__(stream, now_us)
        self.second = now_us // US_PER_S  # markPrice and forceOrder: the last second sent


def collect(market: Market, feeds: list[Feed], window: int, now_us: int) -> list[tuple[str, str]]:
    """(stream, event JSON) of every stream of a session since the last tick, in fstream's payloads (times in ms)."""
    kinds = by_kind(feeds)
    return (
        trades(market, kinds["aggTrade"], now_us, US_PER_MS, best_match=False)
        + depth(market, kinds["depth"], window, now_us, US_PER_MS, _depth_ids)
        + klines(market, kinds["kline"], now_us, US_PER_MS)
        + book_tickers(market, kinds["bookTicker"], now_us, _ticker)
        + [event for feed in kinds["markPrice"] for event in _marks(market, feed, now_us)]
        + [event for feed in kinds["forceOrder"] for event in _force_orders(market, feed, now_us)]
    )


def _depth_ids(first: int, final: int, time_ms: int) -> str:
    """T, and U/u/pu spaced ID_STEP apart (`wire_ids`): only the pu chain says that nothing was lost."""
    first_id, final_id, pu = wire_ids(first, final)
    return f'"T":{time_ms},"U":{first_id},"u":{final_id},"pu":{pu}'


def _ticker(state: int, symbol: str, top: str) -> str:
    """A futures bookTicker of book state `state`: `u` on the depth stream's ids, E and T the state's time in ms."""
    at = book.update_time_us(state) // US_PER_MS
    return f'{{"e":"bookTicker","u":{snapshot_id(state)},"E":{at},"T":{at},"s":"{symbol}",{top}}}'


def _marks(market: Market, feed: UsdmFeed, now_us: int) -> list[tuple[str, str]]:
    step = feed.stream.every_updates
    second = now_us // US_PER_S // step * step
    if second <= feed.second:
        return []
    feed.second = second
    at = np.array([second * US_PER_S], dtype=np.int64)
    settle_us = market.spec(feed.key).funding_hours * 3600 * US_PER_S
    mark, index = float(market.mark_prices(feed.key, at)[0]), float(market.index_prices(feed.key, at)[0])
    premium = mark / index - 1
    event = {
        "e": "markPriceUpdate", "E": now_us // US_PER_MS, "s": feed.stream.symbol, "p": wire.decimal(mark),
        "ap": wire.decimal(mark), "i": wire.decimal(index), "P": wire.decimal(index),
        "r": wire.decimal(premium + float(np.clip(0.0001 - premium, -0.0005, 0.0005))),
        "T": (second * US_PER_S // settle_us + 1) * settle_us // US_PER_MS,
    }
    return [(feed.stream.name, orjson.dumps(event).decode())]


def _force_orders(market: Market, feed: UsdmFeed, now_us: int) -> list[tuple[str, str]]:
    """The latest liquidation of each whole second that ended since the last tick."""
    start, end = feed.second * US_PER_S, now_us // US_PER_S * US_PER_S
    if end <= start:
        return []
    feed.second = end // US_PER_S
    orders = market.liquidations(feed.key, start, end)
    if orders.is_empty():
        return []
    latest = orders.with_columns(window=pl.col("time").dt.epoch("us") // FORCE_ORDER_WINDOW_US).group_by(
        "window", maintain_order=True
    ).last()
    return [
        (feed.stream.name, orjson.dumps({
            "e": "forceOrder", "E": now_us // US_PER_MS,
            "o": {
                "s": feed.stream.symbol, "S": side, "o": "LIMIT", "f": "IOC", "q": wire.decimal(qty),
                "p": wire.decimal(price), "ap": wire.decimal(price), "X": "FILLED", "l": wire.decimal(qty),
                "z": wire.decimal(qty), "T": time_us // US_PER_MS,
            },
        }).decode())
        for time_us, side, price, qty in latest.select(pl.col("time").dt.epoch("us"), "side", "price", "qty").iter_rows()
    ]


def _session(route: str) -> type[Session]:
    class UsdmSession(Session):
        max_streams, max_incoming_per_s = 200, 10

        def parse_stream(self, name: str) -> Stream:
            return parse_stream(name, route, self.sim)

        def make_feed(self, stream: Stream, now_us: int) -> Feed:
            return UsdmFeed(stream, now_us)

        def collect(self, now_us: int) -> list[tuple[str, str]]:
            return collect(self.sim.market, list(self.feeds.values()), self.sim.config.depth_window, now_us)

    return UsdmSession


def routes(sim: SimState) -> list[WebSocketRoute]:
    found = []
    for route in ROUTES:
        session = _session(route)

        async def raw(websocket: WebSocket, session=session) -> None:
            stream = websocket.path_params.get("stream", "")
            await serve_session(sim, websocket, False, [stream] if stream else [], session)

        async def combined(websocket: WebSocket, session=session) -> None:
            names = [n for n in websocket.query_params.get("streams", "").split("/") if n]
            await serve_session(sim, websocket, True, names, session)

        found += [WebSocketRoute(f"/{route}/ws", raw), WebSocketRoute(f"/{route}/ws/{{stream}}", raw),
                  WebSocketRoute(f"/{route}/stream", combined)]
    return found
