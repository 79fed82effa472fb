"""One WebSocket connection kept alive by its venue's rules (`streamforge.live.feed.Rules`), whatever the venue.

- Subscriptions: the plan's URL is opened and its control messages are sent, never more than the venue's control
  messages a second (more gets the connection closed).
- Keep-alive: where the server pings (Binance), the `websockets` client answers with the ping's payload; where the
  client must (OKX), the venue's ping text is sent every `ping_after_s` however busy the feed.
- Announced shutdowns and the connection's age limit (STREAMFORGE_LIVE_MAX_CONNECTION_S, a little under the venue's
  24 hours): the NEW connection is opened first, the old one is drained briefly and closed, so nothing is missed;
  the overlap delivers some events twice, which the loader drops by id.
- Errors and closes: reconnect with exponential backoff and full jitter (a fleet of loaders that lost the exchange at
  the same moment must not come back at the same moment).
- Connection attempts per IP (Binance: 300 per 5 minutes): every attempt of a loader waits for its `ConnectPacer`,
  which gives each of a fleet's n loaders its own slots, so the fleet as a whole stays within the limit even when
  every loader starts, or reconnects, at the same moment.
- Silent stall: a socket can stay open and deliver nothing (a half-dead TCP path, a stuck server); no message for
  STREAMFORGE_LIVE_STALL_S replaces the connection.
- Compression (STREAMFORGE_LIVE_WS_COMPRESSION): none by default. Inflating each message (permessage-deflate, which
  Binance grants when asked) cost more of the loader's CPU than parsing it; compression saves bytes on the wire, which
  a loader near its venue can spare more easily than CPU.

Messages are handed to `on_message(raw_text, received_ns)` as they arrive; parsing is the loader's and the feed's
job. It returns True when the message announced that the venue will close this connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.live.feed import ConnectionPlan, Rules
from streamforge.live.health import Metrics

log = logging.getLogger(__name__)

DRAIN_S = 1.0  # how long the old connection is still read after its replacement opened
POLL_S = 0.25  # how often a waiting read looks at the stop flag, the stall clock and the ping clock
MAX_MESSAGE_BYTES = 2**24


COMPRESSIONS = {"none": None, "deflate": "deflate"}  # setting -> the `websockets` client's `compression`


def compression() -> str | None:
    """STREAMFORGE_LIVE_WS_COMPRESSION as the `websockets` client takes it."""
    text = settings.get("STREAMFORGE_LIVE_WS_COMPRESSION").strip().lower()
    if text not in COMPRESSIONS:
        raise ConfigError(f"STREAMFORGE_LIVE_WS_COMPRESSION={text!r}; expected one of {', '.join(COMPRESSIONS)}")
    return COMPRESSIONS[text]


def closed_reason(code: int) -> str:
    """The reconnect metric's label for a close code: the standard ones by number, any other (the server's own
    4000-4999, or nonsense) as one label, so the server cannot grow the label set."""
    return f"closed-{code}" if 1000 <= code <= 1015 else "closed-other"


class ControlRate:
    """Spaces control messages so that no second ever holds more than `per_s` of them."""

    def __init__(self, per_s: float, margin_s: float = 0.05) -> None:
        self.per_s, self.window_s = per_s, 1.0 + margin_s
        self.sent: deque[float] = deque()

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            while self.sent and self.sent[0] <= now - self.window_s:
                self.sent.popleft()
            if len(self.sent) < self.per_s:
                self.sent.append(now)
                return
            await asyncio.sleep(self.sent[0] + self.window_s - now)


class ConnectPacer:
    """Connection attempts of one loader of a fleet of `count` behind one IP, within the venue's `limit` attempts per
    `window_s`: the fleet may attempt once every window_s / limit seconds, and loader `index` takes every count-th of
    those slots — its first at index × window_s / limit after it started, the next count slots later. However the
    fleet's loaders start, restart or reconnect together, no window of the venue holds more than `limit` attempts."""

    def __init__(self, limit: int, window_s: float, index: int, count: int, start: float | None = None) -> None:
        self.slot_s = window_s / limit
        self.spacing_s = count * self.slot_s
        self.next = (time.monotonic() if start is None else start) + index * self.slot_s

    def take(self, now: float) -> float:
        """The time of the next attempt, asked at `now`; the slot is taken at once, so connections asking together
        get successive slots."""
        at = max(now, self.next)
        self.next = at + self.spacing_s
        return at

    async def wait(self) -> None:
        now = time.monotonic()
        at = self.take(now)
        if at > now:
            await asyncio.sleep(at - now)


class Connection:
    def __init__(
        self,
        plan: ConnectionPlan,
        rules: Rules,
        on_message: Callable[[str, int], bool],
        metrics: Metrics,
        *,
        pacer: ConnectPacer | None = None,
        compression: str | None = None,
        stall_s: float,
        max_age_s: float,
        backoff_s: float,
        backoff_max_s: float,
    ) -> None:
        self.plan, self.rules = plan, rules
        self.on_message, self.metrics = on_message, metrics
        self.stall_s, self.max_age_s = stall_s, max_age_s
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.control = ControlRate(rules.control_per_s)
        self.pacer = pacer
        self.compression = compression
        self.failures = 0  # consecutive failed or abnormally ended connections: the backoff exponent
        self.open_sockets = 0  # two during the overlap of a replacement
        self._last = 0.0  # monotonic time of the last message

    @property
    def connected(self) -> bool:
        return self.open_sockets > 0

    async def run(self, stop: asyncio.Event) -> None:
        ws = await self._open(stop)
        try:
            while ws is not None and not stop.is_set():
                reason = await self._read(ws, stop)
                if reason is None:
                    break
                self.metrics.reconnects.labels(reason).inc()
                log.warning("replacing WebSocket connection: %s", reason)
                if reason in ("server-shutdown", "max-age"):
                    new = await self._open(stop)  # the new one first: no gap
                    await self._drain(ws)
                else:
                    self.failures += 1
                    new = None
                await self._close(ws)
                ws = new if new is not None else await self._open(stop)
        finally:
            if ws is not None:
                await self._close(ws)

    async def send_control(self, ws: ClientConnection, text: str) -> None:
        """Send one control message within the venue's rate."""
        await self.control.wait()
        await ws.send(text)

    # --- lifecycle

    async def _open(self, stop: asyncio.Event) -> ClientConnection | None:
        """Connect and subscribe (after the backoff the failures so far call for); None when stopped first."""
        while not stop.is_set():
            if self.failures:
                delay = random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2 ** (self.failures - 1)))
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return None
                except TimeoutError:
                    pass
            if self.pacer is not None:
                await self.pacer.wait()
            try:
                ws = await connect(self.plan.url, ping_interval=None, max_size=MAX_MESSAGE_BYTES, open_timeout=10, close_timeout=1,
                                   compression=self.compression)
                for text in self.plan.subscribe:
                    await self.send_control(ws, text)
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as error:
                self.failures += 1
                log.warning("WebSocket connection to %s failed (%d in a row): %s", self.plan.url.split("?")[0], self.failures, error)
                continue
            except InvalidURI as error:
                raise ConfigError(f"the WebSocket URL setting is not a WebSocket URL: {error}") from error
            self.open_sockets += 1
            self.metrics.connected.inc()
            ws.opened_at = time.monotonic()  # type: ignore[attr-defined]
            return ws
        return None

    async def _read(self, ws: ClientConnection, stop: asyncio.Event) -> str | None:
        """Deliver messages until the connection must be replaced (returns why) or `stop` is set (None).

        Messages are read by a task of their own, without a timeout per message (a timer per message costs more
        than parsing it); this loop looks at the stop flag, the stall and age clocks and the ping clock every POLL_S."""
        self._last = pinged = time.monotonic()
        reader = asyncio.ensure_future(self._deliver(ws))
        try:
            while True:
                done, _ = await asyncio.wait({reader}, timeout=POLL_S)
                if done:
                    return reader.result()
                if stop.is_set():
                    return None
                now = time.monotonic()
                if now - self._last > self.stall_s:
                    return "stall"
                if now - ws.opened_at > self.max_age_s:  # type: ignore[attr-defined]
                    return "max-age"
                # By the time the client last sent, not the last message received: OKX's 30 s close (4004 "No data
                # received in 30s.") may count only what the client sends, and a busy feed is never silent.
                if self.rules.ping_text and now - pinged >= self.rules.ping_after_s:
                    await self._ping(ws)
                    pinged = now
        finally:
            if not reader.done():
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _deliver(self, ws: ClientConnection) -> str:
        """Hand every message on until the connection closes or the venue announces that it will close it."""
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed as closed:
                return closed_reason(closed.rcvd.code if closed.rcvd else 1006)
            self._last = time.monotonic()
            if self._handle(raw, time.time_ns()):
                return "server-shutdown"

    async def _ping(self, ws: ClientConnection) -> None:
        try:
            await ws.send(self.rules.ping_text)
        except ConnectionClosed:
            pass  # the next read says so

    def _handle(self, raw: str | bytes, received_ns: int) -> bool:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        self.failures = 0  # messages flow: the connection is healthy
        return self.on_message(raw, received_ns)

    async def _drain(self, ws: ClientConnection) -> None:
        """Deliver what the old connection still brings, for at most DRAIN_S or until it closes."""
        deadline = time.monotonic() + DRAIN_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                self._handle(await asyncio.wait_for(ws.recv(), left), time.time_ns())
            except (TimeoutError, ConnectionClosed):
                return

    async def _close(self, ws: ClientConnection) -> None:
        self.open_sockets -= 1
        self.metrics.connected.dec()
        try:
            await asyncio.wait_for(ws.close(), 2)
        except (TimeoutError, OSError, ConnectionClosed):
            ws.transport.abort()
