"""The simulator's WebSocket streams: Binance's `/ws/<stream>` and `/stream?streams=a/b/c`, from the same market.

Every event is cut from the same pure functions REST and the dump files use — trades from `Market.agg_trades`, klines
from `Market.klines`, depth diffs from `Market.depth_diff`, the best bid and ask from `Market.book_tops` — against the
one simulator clock, so a trade streamed live is byte for byte the trade REST serves for that id, a depth diff's U/u
chain onto `/api/v3/depth` snapshots, and a bookTicker's `u` names the book state whose top it shows.

One `Session` per connection. Its tick loop asks the market what happened since the last tick on every subscribed
stream (`collect`: one query per kind of stream for all of them, so a connection of 1024 streams costs a few
vectorised queries a tick, not a thousand; the work runs in a thread: the first request for a day generates it),
applies the configured faults, and queues the messages; a sender task writes them, so a client that does not read fills the queue and is dropped as a
slow consumer, like on Binance. Server pings and the pong deadline are uvicorn's keepalive (see `server.serve`).
Binance's connection rules are enforced: at most 5 incoming messages per second (more: disconnected), 1024 streams
per connection, a 24-hour lifetime (`SimConfig.ws_lifetime_s`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamforge.schemas import INSTRUMENT
from streamforge.sim import book
from streamforge.sim.instruments import BINANCE_SPOT
from streamforge.venues.binance.simulator import wire
from streamforge.sim.klines import INTERVALS
from streamforge.sim.market import Market
from streamforge.sim.sessions import GOING_AWAY, run_session
from streamforge.sim.state import SimState

MAX_STREAMS = 1024
MAX_INCOMING_PER_S = 5
KLINE_UPDATE_S = 2.0  # Binance pushes kline updates every 2 s (wall clock: a fast replay needs no more of them)
DEFAULT_SEND_BUFFER = 16 * 2**20
POLICY = 1008


class StreamError(ValueError):
    """A stream name or control message the exchange would refuse."""


@dataclass(frozen=True)
class Stream:
    name: str  # lowercase, as subscribed
    symbol: str
    kind: str  # "aggTrade", "depth", "kline" or "bookTicker"
    every_updates: int = 1  # depth: 1 for @100ms, 10 for the 1000 ms default
    interval: str = ""
    key: str = ""  # the market's key of the instrument, when it is not the bare (spot) symbol


def parse_stream(name: str, market: Market, today: date) -> Stream:
    """A stream of a symbol Binance spot lists on `today` (a symbol listed later is as unknown as a made-up one)."""
    symbol, _, rest = name.partition("@")
    if symbol != symbol.lower() or symbol.upper() not in market.listed(BINANCE_SPOT, today):
        raise StreamError(f"Invalid stream name {name!r}")
    symbol = symbol.upper()
    if rest in ("aggTrade", "bookTicker"):
        return Stream(name, symbol, rest)
    if rest in ("depth", "depth@1000ms", "depth@100ms"):
        return Stream(name, symbol, "depth", every_updates=1 if rest.endswith("100ms") else 10)
    if rest.startswith("kline_") and rest[6:] in INTERVALS:
        return Stream(name, symbol, "kline", interval=rest[6:])
    raise StreamError(f"Invalid stream name {name!r}")


class Feed:
    """One subscribed stream and where it stands: the trades, book state (depth, bookTicker) and kline it last sent."""

    def __init__(self, stream: Stream, now_us: int) -> None:
        self.stream = stream
        self.key = stream.key or stream.symbol  # what the market is asked about; `symbol` is what the wire says
        self.trades_from_us = now_us
        self.update = book.update_id(now_us)
        step = INTERVALS.get(stream.interval, 1)
        self.kline_open_us = now_us // step * step
        self.kline_sent = time.monotonic()


def by_kind(feeds: list[Feed]) -> dict[str, list[Feed]]:
    grouped: dict[str, list[Feed]] = defaultdict(list)
    for feed in feeds:
        grouped[feed.stream.kind].append(feed)
    return grouped


def collect(market: Market, feeds: list[Feed], window: int, now_us: int, unit_us: int) -> list[tuple[str, str]]:
    """(stream, event JSON) of what the market did since the last tick on every stream of a session, in Binance's
    payloads: one query per kind of stream for all of them, not one per stream (a session may hold 1024 streams)."""
    kinds = by_kind(feeds)
    return (
        trades(market, kinds["aggTrade"], now_us, unit_us)
        + depth(market, kinds["depth"], window, now_us, unit_us)
        + klines(market, kinds["kline"], now_us, unit_us)
        + book_tickers(market, kinds["bookTicker"], now_us)
    )


def trades(market: Market, feeds: list[Feed], now_us: int, unit_us: int, best_match: bool = True) -> list[tuple[str, str]]:
    """aggTrade events of the trades since each stream's last tick (`best_match`: with spot's `M` field)."""
    events = []
    for feed in feeds:
        found = market.agg_trades(feed.key, feed.trades_from_us, now_us)
        feed.trades_from_us = now_us
        if found.height:
            head = f'{{"e":"aggTrade","E":{now_us // unit_us},"s":"{feed.stream.symbol}",'
            events += [(feed.stream.name, head + text[1:]) for text in wire.agg_trade_texts(found, unit_us, best_match)]
    return events


def spot_ids(first: int, final: int, time_units: int) -> str:
    """The id fields of a spot depthUpdate from book state first - 1 to final: U and u are the states themselves."""
    return f'"U":{first},"u":{final}'


def depth(
    market: Market, feeds: list[Feed], window: int, now_us: int, unit_us: int, ids: Callable[[int, int, int], str] = spot_ids
) -> list[tuple[str, str]]:
    """The diffs each stream owes since its last one: one per update interval of the market's clock (100 ms, or
    1000 ms without @100ms), so a replay at speed k sends k times the market's own stream, each diff as small as
    Binance's. A diff in which nothing changed (a delisted symbol has no book) is not sent; the next one starts where
    the last sent one ended. `ids(first, final, time)` writes the event's id fields (a market's own numbering)."""
    update = book.update_id(now_us)
    chunks = []  # (feed, U, u)
    for feed in feeds:
        every = feed.stream.every_updates
        for first in range(feed.update + 1, update - every + 2, every):
            chunks.append((feed, first, first + every - 1))
    if not chunks:
        return []
    diffs = market.depth_diffs([(feed.key, first, final) for feed, first, final in chunks], window)
    events = []
    for (feed, first, final), (bids, asks) in zip(chunks, wire.depth_sides(diffs, len(chunks)), strict=True):
        if bids or asks:
            at = book.update_time_us(final) // unit_us
            events.append((feed.stream.name, f'{{"e":"depthUpdate","E":{at},"s":"{feed.stream.symbol}",'
                                             f'{ids(feed.update + 1, final, at)},"b":[{bids}],"a":[{asks}]}}'))
            feed.update = final
    return events


def spot_ticker(state: int, symbol: str, top: str) -> str:
    """A spot bookTicker: `u` is the book state itself (the depth stream's update id); no event type, no time."""
    return f'{{"u":{state},"s":"{symbol}",{top}}}'


def book_tickers(
    market: Market, feeds: list[Feed], now_us: int, event: Callable[[int, str, str], str] = spot_ticker
) -> list[tuple[str, str]]:
    """A bookTicker for every book state since each stream's last tick whose best bid or ask differs from the state
    before it: Binance pushes every change of the top in real time, so the top of the book a client keeps from the
    depth stream, at update id u, is the last bookTicker's at or before u. What is sent depends on the market alone,
    never on when the ticks fall. `event(state, symbol, top)` writes the payload around `"b":..,"B":..,"a":..,"A":..`
    (each market's own fields and ids)."""
    update = book.update_id(now_us)
    due = [feed for feed in feeds if feed.update < update]
    if not due:
        return []
    events = []
    for feed, tops in zip(due, market.book_tops([(feed.key, feed.update, update) for feed in due]), strict=True):
        changed = np.flatnonzero((tops[1:] != tops[:-1]).any(axis=1) & (tops[1:, 0] > 0)) + 1
        for step in changed.tolist():
            bid, bid_qty, ask, ask_qty = (wire.units_text(v) for v in tops[step].tolist())
            top = f'"b":"{bid}","B":"{bid_qty}","a":"{ask}","A":"{ask_qty}"'
            events.append((feed.stream.name, event(feed.update + step, feed.stream.symbol, top)))
        feed.update = update
    return events


def klines(market: Market, feeds: list[Feed], now_us: int, unit_us: int) -> list[tuple[str, str]]:
    """Every interval that ended since the last tick, closed (x=true); and, every KLINE_UPDATE_S, the open one as it
    stands (one query for all the streams due, grouped by interval)."""
    events = []
    for feed in feeds:
        step = INTERVALS[feed.stream.interval]
        while feed.kline_open_us + step <= now_us:
            closed = market.klines(feed.key, feed.stream.interval, feed.kline_open_us, feed.kline_open_us + step)
            events += _kline_events(market, feed, closed, None, now_us, unit_us)
            feed.kline_open_us += step
    due: dict[tuple[str, int], list[Feed]] = {}
    for feed in feeds:
        if time.monotonic() - feed.kline_sent >= KLINE_UPDATE_S:
            due.setdefault((feed.stream.interval, feed.kline_open_us), []).append(feed)
            feed.kline_sent = time.monotonic()
    for (interval, open_us), group in due.items():
        keys = {market.spec(feed.key).id: feed for feed in group}
        rows = market.open_klines(list(keys), interval, open_us, now_us - 1)
        for instrument, kline in rows.partition_by(INSTRUMENT, as_dict=True, include_key=True).items():
            events += _kline_events(market, keys[instrument[0]], kline, now_us - 1, now_us, unit_us)
    return events


def _kline_events(market: Market, feed: Feed, rows, as_of_us: int | None, now_us: int, unit_us: int) -> list[tuple[str, str]]:
    """The kline `rows` (one) as a kline event: closed (x=true) when `as_of_us` is None, else as seen at `as_of_us`."""
    if rows.is_empty():
        return []
    stream = feed.stream
    t, o, h, low, c, v, close, q, n, taker_v, taker_q, _ = wire.kline_rows(rows, unit_us)[0]
    open_us = t * unit_us
    found = market.agg_trades(feed.key, open_us, open_us + INTERVALS[stream.interval] if as_of_us is None else as_of_us + 1)
    first, last = (found["first_trade_id"][0], found["last_trade_id"][-1]) if found.height else (-1, -1)
    k = {
        "t": t, "T": close, "s": stream.symbol, "i": stream.interval, "f": first, "L": last, "o": o, "c": c, "h": h,
        "l": low, "v": v, "n": n, "x": as_of_us is None, "q": q, "V": taker_v, "Q": taker_q, "B": "0",
    }
    return [(stream.name, orjson.dumps({"e": "kline", "E": now_us // unit_us, "s": stream.symbol, "k": k}).decode())]


class Session:
    """One WebSocket connection: subscriptions, control messages, faults, the send queue and the lifecycle. A
    market's streams subclass it: their stream names (`parse_stream`), what a stream keeps (`make_feed`), their events
    (`collect`) and connection limits."""

    max_streams, max_incoming_per_s = MAX_STREAMS, MAX_INCOMING_PER_S

    def __init__(self, sim: SimState, websocket: WebSocket, combined: bool, unit_us: int) -> None:
        self.sim, self.websocket, self.combined, self.unit_us = sim, websocket, combined, unit_us
        self.feeds: dict[str, Feed] = {}
        self.queue: deque[str] = deque()
        self.queued_bytes = 0
        self.wakeup = asyncio.Event()
        self.end: tuple[int | None, str] | None = None  # (close code, reason); code None: drop without a close frame
        self.incoming: deque[float] = deque()
        self.held: str | None = None  # an event held back by the reorder fault
        self.malformed_count = 0

    # --- subscriptions and control messages

    def parse_stream(self, name: str) -> Stream:
        return parse_stream(name, self.sim.market, self.sim.clock.today())

    def make_feed(self, stream: Stream, now_us: int) -> Feed:
        return Feed(stream, now_us)

    def subscribe(self, names: list[str]) -> None:
        streams = [self.parse_stream(n) for n in names]
        if len(set(self.feeds) | {s.name for s in streams}) > self.max_streams:
            raise StreamError(f"a connection may listen to at most {self.max_streams} streams")
        now = self.sim.clock.now_us()
        for s in streams:
            self.feeds.setdefault(s.name, self.make_feed(s, now))

    def control(self, text: str) -> dict:
        """Answer SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS the way Binance does."""
        try:
            request = json.loads(text)
            method, ident, params = request["method"], request.get("id"), request.get("params", [])
        except (ValueError, KeyError, TypeError):
            return {"error": {"code": 3, "msg": "Invalid JSON: expected a method, params and id"}, "id": None}
        try:
            if method == "SUBSCRIBE":
                self.subscribe(list(params))
                return {"result": None, "id": ident}
            if method == "UNSUBSCRIBE":
                for name in params:
                    self.feeds.pop(name, None)
                return {"result": None, "id": ident}
            if method == "LIST_SUBSCRIPTIONS":
                return {"result": list(self.feeds), "id": ident}
        except (StreamError, TypeError) as error:
            return {"error": {"code": 2, "msg": str(error)}, "id": ident}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": ident}

    async def receive(self) -> None:
        """Control messages; more than 5 in a second ends the connection, as on Binance."""
        try:
            while self.end is None:
                text = await self.websocket.receive_text()
                now = time.monotonic()
                self.incoming.append(now)
                while self.incoming and self.incoming[0] <= now - 1.0:
                    self.incoming.popleft()
                if len(self.incoming) > self.max_incoming_per_s:
                    self.finish(POLICY, f"Too many requests: more than {self.max_incoming_per_s} incoming messages per second")
                    return
                self.enqueue(json.dumps(self.control(text)))
        except (WebSocketDisconnect, RuntimeError):
            self.finish(None, "client went away")

    # --- sending

    def enqueue(self, text: str) -> None:
        self.queue.append(text)
        self.queued_bytes += len(text)
        self.wakeup.set()
        limit = self.sim.faults.ws_send_buffer or DEFAULT_SEND_BUFFER
        if self.queued_bytes > limit:
            self.queue.clear()
            self.finish(POLICY, f"slow consumer: more than {limit} bytes waiting to be sent")

    async def send(self) -> None:
        try:
            while self.end is None:
                if not self.queue:
                    self.wakeup.clear()
                    await self.wakeup.wait()
                    continue
                text = self.queue.popleft()
                self.queued_bytes -= len(text)
                await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.finish(None, "client went away")

    def finish(self, code: int | None, reason: str) -> None:
        if self.end is None:
            self.end = (code, reason)
        self.wakeup.set()

    # --- the tick loop

    def collect(self, now_us: int) -> list[tuple[str, str]]:
        return collect(self.sim.market, list(self.feeds.values()), self.sim.config.depth_window, now_us, self.unit_us)

    def emit(self, stream: str, event: str) -> None:
        """Queue one stream event (its JSON) through the configured faults."""
        faults, shares = self.sim.faults, self.sim.shares
        if shares.hit("ws_drop", faults.ws_drop):
            return
        if shares.hit("ws_malformed", faults.ws_malformed):
            self.malformed_count += 1
            if self.malformed_count % 2:
                text = self.wrap(stream, event)
                texts = [text[: len(text) // 2]]
            else:
                texts = [self.wrap(stream, orjson.dumps(_invalid(orjson.loads(event))).decode())]
        else:
            texts = [self.wrap(stream, event)]
            if shares.hit("ws_duplicate", faults.ws_duplicate):
                texts.append(texts[0])
        if self.held is not None:
            texts.append(self.held)
            self.held = None
        elif shares.hit("ws_reorder", faults.ws_reorder):
            self.held, texts = texts[0], texts[1:]
        for text in texts:
            self.enqueue(text)

    def wrap(self, stream: str, event: str) -> str:
        return f'{{"stream":"{stream}","data":{event}}}' if self.combined else event

    async def run(self) -> None:
        faults, config = self.sim.faults, self.sim.config
        opened = time.monotonic()
        shutdown_sent = False
        while self.end is None:
            await asyncio.sleep(config.ws_tick_ms / 1000)
            age = time.monotonic() - opened
            if faults.ws_abort_s and age >= faults.ws_abort_s:
                self.finish(None, "abort fault")
            elif faults.ws_disconnect_s and age >= faults.ws_disconnect_s:
                self.finish(GOING_AWAY, "disconnect fault")
            elif age >= config.ws_lifetime_s:
                self.finish(GOING_AWAY, f"connection lifetime of {config.ws_lifetime_s} s reached")
            elif faults.ws_shutdown_s and age >= faults.ws_shutdown_s + faults.ws_shutdown_grace_s:
                self.finish(GOING_AWAY, "server shutdown")
            if self.end is not None:
                break
            if faults.ws_shutdown_s and age >= faults.ws_shutdown_s and not shutdown_sent:
                self.enqueue(json.dumps({"e": "serverShutdown", "E": self.sim.clock.now_us() // self.unit_us}))
                shutdown_sent = True
            if faults.ws_stall_s and age >= faults.ws_stall_s:
                continue  # silent: the socket stays open, nothing more is sent
            events = await asyncio.to_thread(self.collect, self.sim.clock.now_us())
            for stream, event in events:
                self.emit(stream, event)


def _invalid(event: dict) -> dict:
    """The event with a price that is not a number: valid JSON, invalid against the schema."""
    if event.get("e") == "aggTrade":
        return event | {"p": "not-a-number"}
    if event.get("e") == "depthUpdate":
        return event | {"b": [["not-a-number", "1.0"]]}
    if "k" in event:
        return event | {"k": event["k"] | {"o": "not-a-number"}}
    if "B" in event and "A" in event:  # a bookTicker
        return event | {"b": "not-a-number"}
    if "o" in event:  # a futures forceOrder
        return event | {"o": event["o"] | {"p": "not-a-number"}}
    return event | {"p": "not-a-number"}  # a futures markPriceUpdate


async def serve_session(
    sim: SimState, websocket: WebSocket, combined: bool, streams: list[str], session_class: type[Session] = Session
) -> None:
    """Accept, subscribe to `streams`, run until the session ends, and close the way it ended."""
    try:
        unit_us = wire.time_unit_us({}, websocket.query_params)
    except wire.ApiError as error:
        await websocket.close(POLICY, error.msg)
        return
    await websocket.accept()
    session = session_class(sim, websocket, combined, unit_us)
    try:
        session.subscribe(streams)
    except StreamError as error:
        await websocket.close(POLICY, str(error))
        return
    await run_session(session, websocket)


def routes(sim: SimState) -> list[WebSocketRoute]:
    async def raw(websocket: WebSocket) -> None:
        stream = websocket.path_params.get("stream", "")
        await serve_session(sim, websocket, False, [stream] if stream else [])

    async def combined(websocket: WebSocket) -> None:
        names = [n for n in websocket.query_params.get("streams", "").split("/") if n]
        await serve_session(sim, websocket, True, names)

    return [WebSocketRoute("/ws", raw), WebSocketRoute("/ws/{stream}", raw), WebSocketRoute("/stream", combined)]
