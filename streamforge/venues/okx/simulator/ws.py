"""OKX's v5 public WebSocket served from the simulated market: `/ws/v5/public` (trades, books, bbo-tbt) and
`/ws/v5/business` (candle1m), as okx.md documents them.

- Subscriptions `{"op":"subscribe","args":[{"channel","instId"}]}` are acknowledged per arg
  (`{"event":"subscribe","arg":..,"connId":..}`); an unknown channel, an instrument OKX does not list today, or a
  candle channel on /public is refused with `{"event":"error","code":"60018",..}`, as OKX does.
- Heartbeat: the text `ping` is answered `pong`; a connection that sends nothing for 30 s (`silence_s`) is closed
  with 4004 "No data received in 30s.".
- `books`: a 400-level snapshot (`prevSeqId` -1), then an update each 100 ms step of the market's book with the
  levels that changed ("0" deletes), `seqId` the book state's update id and `prevSeqId` the previous message's; each
  carries the CRC32 checksum of the best 25 levels of the true book, over the very strings sent.
- `bbo-tbt`: the best bid and ask whenever they change; `trades`: the trades since the last tick, as REST rows;
  `candle1m`: the open candle about once a second (confirm "0") and each candle once closed (confirm "1").

Faults (`sim.faults`): `okx_seq_break`, `okx_bad_checksum`, `okx_zero_checksum` on books; `ws_drop` and
`ws_duplicate` on every push; `ws_disconnect_s`, `ws_abort_s` and `ws_stall_s` on the connection.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamforge.sim import book
from streamforge.sim.calendar import US_PER_MS
from streamforge.sim.instruments import Instrument
from streamforge.sim.klines import INTERVALS
from streamforge.sim.sessions import GOING_AWAY, run_session
from streamforge.sim.state import SimState
from streamforge.venues.okx.book import checksum
from streamforge.venues.okx.simulator import wire
from streamforge.venues.okx.wire import WS_BUSINESS, WS_PUBLIC

BOOK_LEVELS = 400
CHANNELS = {WS_PUBLIC: ("trades", "books", "bbo-tbt"), WS_BUSINESS: ("candle1m",)}
WRONG_CHANNEL = "60018"
SILENCE_S = 30.0
OPEN_CANDLE_EVERY_S = 1.0
NO_DATA = 4004
_connections = itertools.count(1)


class Subscription:
    """One (channel, instrument): what the market did since the last tick, as OKX pushes."""

    def __init__(self, sim: SimState, channel: str, spec: Instrument, now_us: int) -> None:
        self.sim, self.channel, self.spec = sim, channel, spec
        self.arg = {"channel": channel, "instId": spec.symbol}
        self.trades_from_us = now_us
        self.update: int | None = None  # the book state last sent (None: the snapshot is still to come)
        self.best: tuple | None = None
        self.minute = now_us // INTERVALS["1m"] * INTERVALS["1m"]
        self.candle_sent = 0.0
        self.swap = spec.market == "swap"

    def pushes(self, now_us: int) -> list[dict]:
        if self.channel == "trades":
            return self._trades(now_us)
        if self.channel == "books":
            return self._books(now_us)
        if self.channel == "bbo-tbt":
            return self._bbo(now_us)
        return self._candles(now_us)

    def _trades(self, now_us: int) -> list[dict]:
        trades = self.sim.market.agg_trades(self.spec.id, self.trades_from_us, now_us)
        self.trades_from_us = now_us
        return [{"arg": self.arg, "data": wire.trade_columns(self.spec, trades).to_dicts()}] if trades.height else []

    def _levels(self, levels: list[tuple[float, float]]) -> list[list[str]]:
        return wire.book_rows(self.spec, levels)

    def _checksum(self, update: int) -> int:
        faults, shares = self.sim.faults, self.sim.shares
        if faults.okx_zero_checksum:
            return 0
        state = self.sim.market.book_state(self.spec.id, update, 25)
        value = checksum([tuple(r[:2]) for r in self._levels(state.bids)], [tuple(r[:2]) for r in self._levels(state.asks)])
        if shares.hit("okx_bad_checksum", faults.okx_bad_checksum):
            value = value + 1 if value != -1 else 1  # wrong, and never 0 (which means "no checksum")
        return value

    def _books(self, now_us: int) -> list[dict]:
        update = book.update_id(now_us)
        if self.update is None:
            state = self.sim.market.book_state(self.spec.id, update, BOOK_LEVELS)
            self.update = update
            data = {"asks": self._levels(state.asks), "bids": self._levels(state.bids), "ts": str(now_us // US_PER_MS),
                    "checksum": self._checksum(update), "seqId": update, "prevSeqId": -1}
            return [{"arg": self.arg, "action": "snapshot", "data": [data]}]
        if update == self.update:
            return []
        diff = self.sim.market.depth_diff(self.spec.id, self.update + 1, update, BOOK_LEVELS)
        if not diff.bids and not diff.asks:
            return []  # nothing changed (a delisted instrument has no book): the next update will cover these states
        previous, self.update = self.update, update
        if self.sim.shares.hit("okx_seq_break", self.sim.faults.okx_seq_break):
            previous -= 1  # names a message the client never had
        data = {"asks": self._levels(diff.asks), "bids": self._levels(diff.bids), "ts": str(now_us // US_PER_MS),
                "checksum": self._checksum(update), "seqId": update, "prevSeqId": previous}
        return [{"arg": self.arg, "action": "update", "data": [data]}]

    def _bbo(self, now_us: int) -> list[dict]:
        update = book.update_id(now_us)
        state = self.sim.market.book_state(self.spec.id, update, 1)
        if not state.bids or not state.asks:
            return []
        best = (self._levels(state.bids[:1]), self._levels(state.asks[:1]))
        if best == self.best:
            return []
        self.best = best
        return [{"arg": self.arg, "data": [{"asks": best[1], "bids": best[0], "ts": str(now_us // US_PER_MS), "seqId": update}]}]

    def _candles(self, now_us: int) -> list[dict]:
        step, pushes = INTERVALS["1m"], []
        while self.minute + step <= now_us:  # every minute that ended since the last tick, closed
            pushes += self._candle(self.minute, None, now_us)
            self.minute += step
        if time.monotonic() - self.candle_sent >= OPEN_CANDLE_EVERY_S:
            pushes += self._candle(self.minute, now_us - 1, now_us)
            self.candle_sent = time.monotonic()
        return pushes

    def _candle(self, open_us: int, as_of_us: int | None, now_us: int) -> list[dict]:
        rows = self.sim.market.klines(self.spec.id, "1m", open_us, open_us + INTERVALS["1m"], as_of_us=as_of_us)
        return [{"arg": self.arg, "data": wire.candle_rows(self.spec, rows, now_us)}] if rows.height else []


class Session:
    def __init__(self, sim: SimState, websocket: WebSocket, path: str) -> None:
        self.sim, self.websocket, self.path = sim, websocket, path
        self.conn_id = f"sim{next(_connections)}"
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.heard = time.monotonic()
        self.end: tuple[int | None, str] | None = None

    def control(self, text: str) -> list[dict | str]:
        """Answer one message from the client: `ping`, or a subscribe / unsubscribe op."""
        if text == "ping":
            return ["pong"]
        try:
            request = orjson.loads(text)
            op, args = request["op"], request["args"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [self._error("60012", f"Invalid request: {text[:100]}")]
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            return [self._error("60012", f"Invalid request: {text[:100]}")]
        answers = []
        for arg in args:
            refused = self._refused(arg)
            if refused:
                answers.append(self._error(WRONG_CHANNEL, refused))
                continue
            key = (arg["channel"], arg["instId"])
            if op == "subscribe":
                spec = self._spec(arg["instId"])
                self.subscriptions[key] = Subscription(self.sim, arg["channel"], spec, self.sim.clock.now_us())
            else:
                self.subscriptions.pop(key, None)
            answers.append({"event": op, "arg": {"channel": arg["channel"], "instId": arg["instId"]}, "connId": self.conn_id})
        return answers

    def _refused(self, arg: object) -> str | None:
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str) or not isinstance(arg.get("instId"), str):
            return f"Wrong URL or channel:{orjson.dumps(arg).decode()[:100]}, doesn't exist"
        if arg["channel"] not in CHANNELS[self.path] or self._spec(arg["instId"]) is None:
            return f"Wrong URL or channel:{arg['channel']},instId:{arg['instId']} doesn't exist"
        return None

    def _spec(self, inst_id: str) -> Instrument | None:
        market = "okx.swap" if inst_id.endswith("-SWAP") else "okx.spot"
        return self.sim.market.listed(market, self.sim.clock.today()).get(inst_id)

    def _error(self, code: str, msg: str) -> dict:
        return {"event": "error", "code": code, "msg": msg, "connId": self.conn_id}

    def push(self, message: dict | str) -> None:
        faults, shares = self.sim.faults, self.sim.shares
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        if isinstance(message, dict) and "data" in message:
            if shares.hit("ws_drop", faults.ws_drop):
                return
            if shares.hit("ws_duplicate", faults.ws_duplicate):
                self.outbox.put_nowait(text)
        self.outbox.put_nowait(text)

    async def receive(self) -> None:
        try:
            while self.end is None:
                text = await self.websocket.receive_text()
                self.heard = time.monotonic()
                for answer in self.control(text):
                    self.push(answer)
        except (WebSocketDisconnect, RuntimeError):
            self.end = (None, "client went away")

    async def send(self) -> None:
        try:
            while self.end is None:
                text = await self.outbox.get()
                await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.end = (None, "client went away")

    async def run(self) -> None:
        faults, opened = self.sim.faults, time.monotonic()
        while self.end is None:
            await asyncio.sleep(self.sim.config.ws_tick_ms / 1000)
            now = time.monotonic()
            if faults.ws_abort_s and now - opened >= faults.ws_abort_s:
                self.end = (None, "abort fault")
            elif faults.ws_disconnect_s and now - opened >= faults.ws_disconnect_s:
                self.end = (GOING_AWAY, "disconnect fault")
            elif now - self.heard >= SILENCE_S:
                self.end = (NO_DATA, "No data received in 30s.")
            if self.end is not None or (faults.ws_stall_s and now - opened >= faults.ws_stall_s):
                continue
            now_us = self.sim.clock.now_us()
            pushes = await asyncio.to_thread(lambda: [p for s in list(self.subscriptions.values()) for p in s.pushes(now_us)])
            for message in pushes:
                self.push(message)


async def serve(sim: SimState, websocket: WebSocket, path: str) -> None:
    await websocket.accept()
    await run_session(Session(sim, websocket, path), websocket)


def routes(sim: SimState) -> list[WebSocketRoute]:
    def endpoint(path: str):
        async def handle(websocket: WebSocket) -> None:
            await serve(sim, websocket, path)

        return handle

    return [WebSocketRoute(path, endpoint(path)) for path in CHANNELS]
