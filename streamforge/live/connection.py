"""One combined-stream WebSocket connection that stays alive by Binance's rules.

- Pings: the server pings every 20 s; the `websockets` client answers each with a pong carrying the ping's payload.
- `serverShutdown`, and the 24-hour limit (STREAMFORGE_LIVE_MAX_CONNECTION_S, a little under it): the NEW connection
  is opened first, the old one is drained briefly and closed, so nothing is missed; the overlap delivers some events
  twice, which the loader drops by id (`gaps`, `book`).
- Errors and closes: reconnect with exponential backoff and full jitter (a fleet of loaders that lost the exchange at
  the same moment must not come back at the same moment: 300 connection attempts per 5 minutes per IP).
- Silent stall: a socket can stay open and deliver nothing (a half-dead TCP path, a stuck server); no message for
  STREAMFORGE_LIVE_STALL_S replaces the connection.
- At most 1024 streams per connection (the loader opens several) and at most 5 control messages per second (more
  gets the connection closed): streams beyond `URL_STREAMS` are subscribed by rate-limited SUBSCRIBE messages.

Messages are handed to `deliver(raw_text, received_ns)` as they arrive; parsing is the loader's job.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamforge.errors import ConfigError
from streamforge.live.health import Metrics

log = logging.getLogger(__name__)

MAX_STREAMS = 1024
CONTROL_PER_S = 5
URL_STREAMS = 100  # streams named in the URL; the rest go by SUBSCRIBE (URLs have length limits)
SUBSCRIBE_CHUNK = 100
DRAIN_S = 1.0  # how long the old connection is still read after its replacement opened
POLL_S = 0.25  # how often a waiting read looks at the stop flag and the stall clock


def closed_reason(code: int) -> str:
    """The reconnect metric's label for a close code: the standard ones by number, any other (the server's own
    4000-4999, or nonsense) as one label, so the server cannot grow the label set."""
    return f"closed-{code}" if 1000 <= code <= 1015 else "closed-other"


class ControlRate:
    """Spaces control messages so that no second ever holds more than CONTROL_PER_S of them."""

    def __init__(self, per_s: int = CONTROL_PER_S, margin_s: float = 0.05) -> None:
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


class Connection:
    def __init__(
        self,
        base_url: str,
        streams: list[str],
        deliver: Callable[[str, int], None],
        metrics: Metrics,
        *,
        stall_s: float,
        max_age_s: float,
        backoff_s: float,
        backoff_max_s: float,
    ) -> None:
        if len(streams) > MAX_STREAMS:
            raise ConfigError(f"{len(streams)} streams on one connection; Binance allows at most {MAX_STREAMS}")
        self.base_url = base_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
        self.streams = list(streams)
        self.deliver, self.metrics = deliver, metrics
        self.stall_s, self.max_age_s = stall_s, max_age_s
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.control = ControlRate()
        self.failures = 0  # consecutive failed or abnormally ended connections: the backoff exponent
        self.open_sockets = 0  # two during the overlap of a replacement
        self._ids = iter(range(1, 2**62))
        self.replies: dict[int, dict] = {}

    # --- public

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

    async def subscribe(self, ws: ClientConnection, streams: list[str]) -> None:
        """SUBSCRIBE in chunks, never more than CONTROL_PER_S control messages a second."""
        for start in range(0, len(streams), SUBSCRIBE_CHUNK):
            await self.send_control(ws, "SUBSCRIBE", streams[start : start + SUBSCRIBE_CHUNK])

    async def send_control(self, ws: ClientConnection, method: str, params: list | None = None) -> int:
        """Send one control message within the rate; its reply lands in `self.replies[id]`."""
        await self.control.wait()
        ident = next(self._ids)
        message = {"method": method, "id": ident} | ({"params": params} if params is not None else {})
        await ws.send(json.dumps(message))
        return ident

    # --- lifecycle

    def url(self) -> str:
        return f"{self.base_url}/stream?streams={'/'.join(self.streams[:URL_STREAMS])}&timeUnit=MICROSECOND"

    async def _open(self, stop: asyncio.Event) -> ClientConnection | None:
        """Connect (after the backoff the failures so far call for); None when stopped first."""
        while not stop.is_set():
            if self.failures:
                delay = random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2 ** (self.failures - 1)))
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return None
                except TimeoutError:
                    pass
            try:
                ws = await connect(self.url(), ping_interval=None, max_size=2**24, open_timeout=10, close_timeout=1)
                await self.subscribe(ws, self.streams[URL_STREAMS:])
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as error:
                self.failures += 1
                log.warning("WebSocket connection to %s (STREAMFORGE_WS_URL) failed (%d in a row): %s", self.base_url, self.failures, error)
                continue
            except InvalidURI as error:
                raise ConfigError(f"STREAMFORGE_WS_URL is not a WebSocket URL: {error}") from error
            self.open_sockets += 1
            self.metrics.connected.inc()
            ws.opened_at = time.monotonic()  # type: ignore[attr-defined]
            return ws
        return None

    async def _read(self, ws: ClientConnection, stop: asyncio.Event) -> str | None:
        """Deliver messages until the connection must be replaced (returns why) or `stop` is set (None)."""
        last = time.monotonic()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), POLL_S)
            except TimeoutError:
                now = time.monotonic()
                if now - last > self.stall_s:
                    return "stall"
                if now - ws.opened_at > self.max_age_s:  # type: ignore[attr-defined]
                    return "max-age"
                continue
            except ConnectionClosed as closed:
                return closed_reason(closed.rcvd.code if closed.rcvd else 1006)
            last = time.monotonic()
            if self._handle(raw, time.time_ns()):
                return "server-shutdown"
            if last - ws.opened_at > self.max_age_s:  # type: ignore[attr-defined]
                return "max-age"
        return None

    def _handle(self, raw: str | bytes, received_ns: int) -> bool:
        """Deliver a stream message, keep a control reply; True when the server announced its shutdown."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if not raw.startswith('{"stream"'):
            try:
                message = json.loads(raw)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("e") == "serverShutdown":
                return True
            if isinstance(message, dict) and "id" in message and ("result" in message or "error" in message):
                self.replies[message["id"]] = message
                if "error" in message:
                    log.error("the exchange refused control message %s: %s", message["id"], message["error"])
                return False
        self.failures = 0  # data flows: the connection is healthy
        self.deliver(raw, received_ns)
        return False

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
