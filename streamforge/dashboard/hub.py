"""Browser clients and the pushes to them: coalesced, encoded once per instrument, and dropped for slow clients.

Coalescing: the first change after a quiet spell is pushed at once, later ones wait until `push_ms` has passed since
the previous push, so a browser gets at most 1000/push_ms messages a second however many events Kafka brings, and an idle
feed adds no delay. With `push_ms=0` every Kafka poll's changes go out as they come (the benchmark's baseline).

Slow clients: each client has a queue of at most `client_queue` messages. When a push finds it full, the queued
messages are thrown away and the client gets a fresh snapshot when it next can take one, so a stalled tab costs a
bounded amount of memory and still ends up with the right picture.

Every snapshot and update carries, beside the instrument's own changes, the same asset on the other venues
(venues.py) and the perpetual panel (perp.py) with that perpetual's liquidations — all of them in a snapshot, the new
ones in an update — so a spot page is updated when its perpetual changes, and the reverse.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from streamforge.dashboard import perp
from streamforge.dashboard.rows import Delta
from streamforge.dashboard.venues import AcrossVenues
from streamforge.errors import ConfigError
from streamforge.instruments import instrument_id
from streamforge.dashboard.views import Views

_RESYNC = object()  # queue item: send this client a full snapshot instead of the updates it missed
# `{"subscribe": "ETHUSDT"}` is a few dozen characters; anything much longer is not a request, and parsing it could
# cost without bound (a deeply nested array overflows the JSON parser's recursion).
MAX_REQUEST_CHARS = 256


def encode(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


class Client:
    def __init__(self, websocket: WebSocket, queue_limit: int):
        self.websocket = websocket
        self.instrument: str | None = None
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=queue_limit)
        self.dropped = 0

    def offer(self, text: str) -> None:
        """Queue `text`, or, when the client is too far behind, replace its backlog by one resync."""
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += self.queue.qsize()
            self.resync()

    def subscribe(self, instrument: str) -> None:
        self.instrument = instrument
        self.resync()

    def resync(self) -> None:
        """Whatever is queued is superseded by a snapshot taken when the client is ready for it."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_RESYNC)


class Hub:
    """Owns the views and the clients; `ingest` is called on the event loop with each poll's deltas."""

    def __init__(self, views: Views, push_ms: int, client_queue: int):
        self.views = views
        self.across = AcrossVenues(views)
        self.push_s = push_ms / 1000
        self.client_queue = client_queue
        self.clients: set[Client] = set()
        self.health: dict = {}
        self.loaders: Callable[[str | None], list[dict]] = lambda instrument: []
        self._dirty = asyncio.Event()

    def ingest(self, deltas: dict[str, Delta]) -> None:
        self.views.apply(deltas)
        self._dirty.set()

    async def push_forever(self) -> None:
        """Leading-edge throttle: wait for a change, push it, then let changes gather for `push_s`."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self.push_changes()
            if self.push_s:
                await asyncio.sleep(self.push_s)

    def push_changes(self) -> None:
        """Take every changed view's update, and offer each page the one of its instrument (encoded once per
        instrument) when that instrument, its perpetual or its spot changed."""
        parts = {instrument: view.take_update() for instrument, view in self.views.by_instrument.items() if view.changed}
        texts: dict[str, str | None] = {}
        for client in self.clients:
            if client.instrument is None:
                continue
            if client.instrument not in texts:
                texts[client.instrument] = self._update(client.instrument, parts)
            if texts[client.instrument] is not None:
                client.offer(texts[client.instrument])

    def _update(self, instrument: str, parts: dict[str, dict]) -> str | None:
        shown = perp.pair(instrument, self.views.by_instrument)
        if not parts.keys() & {instrument, *(shown or ())}:
            return None
        own = parts.get(instrument) or self.views.view(instrument).take_update()
        liquidations = parts[shown[1]]["liquidations"] if shown and shown[1] in parts else []
        return encode(own | self._beside(instrument, shown, liquidations))

    def _beside(self, instrument: str, shown: tuple[str, str] | None, liquidations: list) -> dict:
        """What the page shows beside the instrument itself: other venues, the perpetual panel and its liquidations."""
        return {"venues": self.across.row(instrument), "perp": perp.panel(self.views, shown), "liquidations": liquidations}

    def publish_health(self, health: dict, loaders: Callable[[str | None], list[dict]]) -> None:
        """`health` to every page, with `loaders(instrument)`: the loaders' figures of the instrument the page shows
        (encoded once per instrument shown)."""
        self.health, self.loaders = health, loaders
        texts: dict[str, str] = {}
        for client in self.clients:
            if client.instrument is not None:
                if client.instrument not in texts:
                    texts[client.instrument] = encode({"type": "health", "instruments": self.views.instruments, **health,
                                                       "loaders": loaders(client.instrument)})
                client.offer(texts[client.instrument])

    def snapshot(self, instrument: str) -> str:
        health = {**self.health, "loaders": self.loaders(instrument)} if self.health else {}
        shown = perp.pair(instrument, self.views.by_instrument)
        liquidations = list(self.views.view(shown[1]).liquidations) if shown else []
        return encode({**self.views.snapshot(instrument), "instruments": self.views.instruments, "health": health,
                       **self._beside(instrument, shown, liquidations)})

    async def serve(self, websocket: WebSocket, default_instrument: str) -> None:
        """One browser: told the default instrument, it sends `{"subscribe": "binance.spot.ETHUSDT"}` (again to switch) and then
        receives a snapshot, updates and health."""
        await websocket.accept()
        await websocket.send_text(encode({"type": "hello", "instrument": default_instrument, "instruments": self.views.instruments}))
        client = Client(websocket, self.client_queue)
        self.clients.add(client)
        sender = asyncio.create_task(self._send(client))
        try:
            async for text in websocket.iter_text():
                if len(text) > MAX_REQUEST_CHARS:
                    await websocket.close(code=1009, reason=f"a request is at most {MAX_REQUEST_CHARS} characters")
                    return
                try:
                    client.subscribe(instrument_id(str(json.loads(text).get("subscribe", ""))))
                except ConfigError:
                    pass  # not an instrument: nothing to show, and nothing kept for it
        except (ValueError, AttributeError):
            await websocket.close(code=1003, reason='expected JSON like {"subscribe": "ETHUSDT"}')
        finally:
            self.clients.discard(client)
            sender.cancel()

    async def _send(self, client: Client) -> None:
        try:
            while True:
                item = await client.queue.get()
                await client.websocket.send_text(self.snapshot(client.instrument) if item is _RESYNC else item)
        except (WebSocketDisconnect, OSError, RuntimeError):  # the browser went away mid-send; serve() cleans up
            return
