"""Exchange requests with an overall deadline and a byte limit, however the server sends its answer.

httpx's timeout bounds each wait for bytes, not the request: a server that trickles a byte now and then (in its
headers or its body) keeps a call going forever, and one that sends an endless (or a gzip-bombed) body fills memory.
Here every socket operation of a request waits at most until the request's deadline (`transport`), so past
`deadline_s` from its start a request fails as `httpx.ReadTimeout` (callers retry it like any timeout), and its body
is read as it arrives: past `max_bytes` of decoded body it fails for good with `ResponseTooLargeError` (asking again
would not make it shorter).

gzip is decoded here rather than by httpx, a piece at a time, so that the limit counts decoded bytes and a gzip bomb
stops at the limit instead of in memory; it is the only encoding a client asks for (`ACCEPT_GZIP`), or none
(`ACCEPT_IDENTITY`, for files that are compressed already), and any other is refused.
"""

from __future__ import annotations

import json
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from streamforge import settings
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

    @classmethod
    def rest(cls) -> Limits:
        """A REST answer's limits, from the settings: every venue's REST client takes these."""
        return cls(int(settings.get("STREAMFORGE_HTTP_MAX_BYTES")), float(settings.get("STREAMFORGE_HTTP_DEADLINE_S")),
                   "STREAMFORGE_HTTP_MAX_BYTES")


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
    """The open response of one request; `chunks()` yields its decoded body under the byte limit."""

    def __init__(self, response: httpx.Response, limits: Limits) -> None:
        self.response, self.limits, self._received = response, limits, 0
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
            if decoder is None:
                self._count(len(raw))
                yield raw
                continue
            while raw:
                # Never decode more than the limit leaves room for: a gzip bomb stops here, not in memory.
                piece = decoder.decompress(raw, self.limits.max_bytes - self._received + 1)
                raw = decoder.unconsumed_tail
                self._count(len(piece))
                if piece:
                    yield piece

    def read(self) -> Answer:
        body = b"".join(self.chunks())
        return Answer(self.response.status_code, self.response.headers, self._url, body)

    def _count(self, size: int) -> None:
        self._received += size
        if self._received > self.limits.max_bytes:
            raise self._too_large()

    def _too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"GET {self._url}: the answer is longer than {self.limits.max_bytes} bytes ({self.limits.limit_by}); "
            "refused"
        )


@contextmanager
def bounded(http: httpx.Client, request: httpx.Request, limits: Limits) -> Iterator[Bounded]:
    """Send `request` and hold its response open until the block ends, all of it within the deadline (`http` must
    use `transport()`)."""
    deadline = time.monotonic() + limits.deadline_s
    token = _DEADLINE.set(deadline)
    try:
        response = http.send(request, stream=True)
        try:
            yield Bounded(response, limits)
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        if time.monotonic() < deadline:
            raise
        raise httpx.ReadTimeout(
            f"no complete answer within {limits.deadline_s:g} s ({limits.deadline_setting}={limits.deadline_s:g})",
            request=request,
        ) from exc
    finally:
        _DEADLINE.reset(token)


def transport() -> httpx.HTTPTransport:
    """An httpx transport whose every socket operation waits no longer than the deadline of the request in progress
    (`bounded`). httpx 0.28 (pinned) takes no network backend, so the one its connection pool made is wrapped."""
    made = httpx.HTTPTransport()
    pool = made._pool  # noqa: SLF001 - see the docstring
    pool._network_backend = _DeadlineBackend(pool._network_backend)  # noqa: SLF001
    return made


# --- the deadline, enforced on every socket operation -----------------------------------------------------------------

_DEADLINE: ContextVar[float | None] = ContextVar("streamforge_request_deadline", default=None)


def _remaining(timeout: float | None) -> float | None:
    """The operation's timeout, cut to what is left until the deadline of the request in progress."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _remaining(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(path, _remaining(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
