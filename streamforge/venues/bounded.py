"""Exchange requests with an overall deadline and a byte limit, however the server sends its answer.

httpx's timeout bounds each wait for bytes, not the request: a server that trickles a byte now and then keeps a call
going forever, and one that sends an endless (or a gzip-bombed) body fills memory. Here a body is read as it arrives
off the socket: past `deadline_s` from the start the request fails as `httpx.ReadTimeout` (callers retry it like any
timeout), past `max_bytes` of decoded body it fails for good with `ResponseTooLargeError` (asking again would not make
it shorter). No single read waits longer than the deadline either, so a request ends at the latest `deadline_s` plus
one read after it started.

gzip is decoded here rather than by httpx, so that the limit counts decoded bytes and an empty-output trickle of
compressed bytes still meets the deadline; it is the only encoding a client asks for (`ACCEPT_GZIP`), or none
(`ACCEPT_IDENTITY`, for files that are compressed already), and any other is refused.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from streamforge.errors import ExchangeError, ResponseTooLargeError

ACCEPT_GZIP = {"Accept-Encoding": "gzip"}
ACCEPT_IDENTITY = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class Limits:
    """How long one request may take and how long its answer may be; `limit_by` and `deadline_setting` say in
    errors where the limits come from."""

    max_bytes: int
    deadline_s: float
    limit_by: str
    deadline_setting: str = "STREAMFORGE_HTTP_DEADLINE_S"


@dataclass(frozen=True)
class Answer:
    """A complete, bounded answer: what the REST client needs of a response."""

    status: int
    headers: httpx.Headers
    url: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> object:
        return json.loads(self.body)


class Bounded:
    """The open response of one request; `chunks()` yields its decoded body under the limits."""

    def __init__(self, response: httpx.Response, limits: Limits, deadline: float) -> None:
        self.response, self.limits, self._deadline, self._received = response, limits, deadline, 0
        self._url = str(response.request.url)

    def chunks(self, already: int = 0) -> Iterator[bytes]:
        """The decoded body; `already` counts bytes an earlier attempt received (a resumed download) against the
        byte limit."""
        self._received = already
        encoding = self.response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise ExchangeError(f"GET {self._url}: answer in Content-Encoding {encoding!r}, which was not asked for")
        declared = self.response.headers.get("Content-Length", "")
        if encoding == "identity" and declared.isdigit() and self._received + int(declared) > self.limits.max_bytes:
            raise self._too_large()  # said at once, without receiving it
        decoder = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
        for raw in self.response.iter_raw():
            self._check_deadline()
            if decoder is None:
                self._count(len(raw))
                yield raw
                continue
            while raw:
                # Never decode more than the limit leaves room for: a gzip bomb stops here, not in memory.
                room = self.limits.max_bytes - self._received + 1
                piece = decoder.decompress(raw, room)
                raw = decoder.unconsumed_tail
                self._count(len(piece))
                if piece:
                    yield piece

    def read(self) -> Answer:
        body = b"".join(self.chunks())
        r = self.response
        return Answer(r.status_code, r.headers, self._url, body)

    def _count(self, size: int) -> None:
        self._received += size
        if self._received > self.limits.max_bytes:
            raise self._too_large()

    def _too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"GET {self._url}: the answer is longer than {self.limits.max_bytes} bytes ({self.limits.limit_by}); "
            "refused"
        )

    def _check_deadline(self) -> None:
        if time.monotonic() > self._deadline:
            raise httpx.ReadTimeout(
                f"no complete answer within {self.limits.deadline_s:g} s "
                f"({self.limits.deadline_setting}={self.limits.deadline_s:g}); {self._received} bytes had arrived"
            )


@contextmanager
def bounded(http: httpx.Client, request: httpx.Request, limits: Limits) -> Iterator[Bounded]:
    """Send `request` and hold its response open until the block ends."""
    deadline = time.monotonic() + limits.deadline_s
    each = http.timeout
    request.extensions["timeout"] = httpx.Timeout(
        connect=_at_most(each.connect, limits.deadline_s),
        read=_at_most(each.read, limits.deadline_s),
        write=_at_most(each.write, limits.deadline_s),
        pool=_at_most(each.pool, limits.deadline_s),
    ).as_dict()
    response = http.send(request, stream=True)
    try:
        yield Bounded(response, limits, deadline)
    finally:
        response.close()


def _at_most(timeout: float | None, deadline_s: float) -> float:
    return deadline_s if timeout is None else min(timeout, deadline_s)
