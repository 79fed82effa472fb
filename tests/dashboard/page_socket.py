"""The browser's side of the dashboard's `/ws`, as a synchronous WebSocket client for tests and the benchmark."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from websockets.sync.client import connect


class PageSocket:
    """Connects, reads the hello, subscribes to `instrument`; `until(...)` reads messages as they come."""

    def __init__(self, base_url: str, instrument: str):
        self.ws = connect(base_url.replace("http://", "ws://") + "/ws", max_size=None)
        self.hello = self.next("hello")
        self.subscribe(instrument)

    def subscribe(self, instrument: str) -> None:
        self.ws.send(json.dumps({"subscribe": instrument}))

    def messages(self, seconds: float) -> Iterator[dict]:
        """Every message received within `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                yield json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return

    def next(self, kind: str, seconds: float = 10) -> dict:
        for message in self.messages(seconds):
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind!r} message within {seconds} s")

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> PageSocket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
