"""A hostile exchange on a real local socket: endless or trickling bodies and headers, gzip bombs, `Retry-After: nan`.

The server is a plain `http.server` on loopback whose behaviour each test picks; what it sends is exactly what the
client receives, so the byte limit and the overall deadline are tested against real reads, not a mocked transport.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from streamforge.errors import ExchangeError, ResponseTooLargeError
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.rest import BinanceRest

DAY = date(2025, 1, 2)
# 64 MiB of spaces in 64 KiB, compressed once: compressing it per request could outlast the client's deadline on a
# loaded machine, and the test would see a retried timeout instead of the refused answer it is about.
GZIP_BOMB = gzip.compress(b" " * (64 << 20))
RATE_LIMITS = {
    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}]
}
BOUND_S = 60  # how long a test waits for a call that must end; a call that is still going then never ends


class Hostile(ThreadingHTTPServer):
    """Serves every GET the way `mode` says; `requests` counts them; `stop` ends any endless body."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode = "ok"
        self.requests = 0
        self.stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Hostile

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1
        mode = self.server.mode
        if self.path.endswith(".CHECKSUM"):
            self._send(200, f"{'0' * 64}  {self.path.rsplit('/', 1)[-1].removesuffix('.CHECKSUM')}\n".encode())
        elif mode == "trickle":
            self._endless(b" ", pause_s=0.02)
        elif mode == "trickle_headers":
            self._endless_headers()
        elif mode == "flood":
            self._endless(b"[" * 65_536, pause_s=0)
        elif mode == "gzip_bomb":
            self._send(200, GZIP_BOMB, {"Content-Encoding": "gzip"})
        elif mode == "retry_after_nan" and self.server.requests <= 50:
            self._send(429, b'{"code":-1003,"msg":"Too many requests."}', {"Retry-After": "nan"})
        else:
            self._send(200, json.dumps(RATE_LIMITS).encode())

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _endless_headers(self) -> None:
        """A header that never ends, a byte at a time: no body is ever reached."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self.server.stop.wait(0.02):
                self.wfile.write(b"x")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _endless(self, piece: bytes, pause_s: float) -> None:
        """A chunked body that never ends (until the test is over or the client hangs up)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while not self.server.stop.wait(pause_s):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(BOUND_S)


def ended(call, *args: object) -> BaseException | None:
    """Run `call` in a thread and wait for it with a bound; the exception it ended with (None: it returned)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call(*args)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which asserts on it
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND_S)
    assert outcome, f"the call was still going after {BOUND_S} s: no overall deadline"
    return outcome[0]


@pytest.fixture
def limits(monkeypatch) -> None:
    monkeypatch.setenv("STREAMFORGE_HTTP_DEADLINE_S", "1")
    monkeypatch.setenv("STREAMFORGE_HTTP_MAX_BYTES", str(1 << 20))
    monkeypatch.setenv("STREAMFORGE_DUMP_MAX_BYTES", str(1 << 20))
    monkeypatch.setenv("STREAMFORGE_HTTP_BACKOFF_S", "0.01")


def test_a_rest_answer_that_trickles_forever_ends_at_the_deadline(hostile, limits):
    hostile.mode = "trickle"
    with BinanceRest(hostile.url, retries=1, timeout_s=5) as rest:
        error = ended(rest.exchange_info)
    assert isinstance(error, ExchangeError)
    assert str(error).startswith(f"GET {hostile.url}/api/v3/exchangeInfo failed 2 times, giving up: ReadTimeout: ")
    assert "STREAMFORGE_HTTP_DEADLINE_S=1" in str(error)
    assert hostile.requests == 2


def test_an_answer_whose_headers_trickle_forever_ends_at_the_deadline(hostile, limits):
    hostile.mode = "trickle_headers"
    with BinanceRest(hostile.url, retries=0, timeout_s=5) as rest:
        error = ended(rest.exchange_info)
    assert isinstance(error, ExchangeError)
    assert "failed 1 times, giving up: ReadTimeout: no complete answer within 1 s" in str(error)


@pytest.mark.parametrize("mode", ["flood", "gzip_bomb"])
def test_a_rest_answer_beyond_the_byte_limit_is_refused_without_retrying(hostile, limits, mode):
    hostile.mode = mode
    with BinanceRest(hostile.url, retries=3) as rest:
        error = ended(rest.exchange_info)
    assert isinstance(error, ResponseTooLargeError)
    assert str(error) == (
        f"GET {hostile.url}/api/v3/exchangeInfo: the answer is longer than 1048576 bytes "
        "(STREAMFORGE_HTTP_MAX_BYTES); refused"
    )
    assert hostile.requests == 1


def test_a_dump_that_trickles_forever_ends_at_the_deadline_keeping_what_arrived(hostile, limits, tmp_path):
    hostile.mode = "trickle"
    with DumpClient(hostile.url, tmp_path, retries=1, timeout_s=5) as dumps:
        error = ended(dumps.agg_trades, "BTCUSDT", DAY)
    assert isinstance(error, ExchangeError)
    assert "failed 2 times, giving up: ReadTimeout: " in str(error)
    assert "STREAMFORGE_HTTP_DEADLINE_S=1" in str(error)
    (part,) = tmp_path.rglob("*.part")  # the next attempt resumes from here with a Range request
    assert part.stat().st_size > 0


def test_an_endless_dump_stops_at_the_dump_byte_limit(hostile, limits, tmp_path):
    hostile.mode = "flood"
    with DumpClient(hostile.url, tmp_path, retries=3) as dumps:
        error = ended(dumps.agg_trades, "BTCUSDT", DAY)
    assert isinstance(error, ResponseTooLargeError)
    assert "is longer than 1048576 bytes (STREAMFORGE_DUMP_MAX_BYTES); refused" in str(error)
    assert not list(tmp_path.rglob("*.zip*"))  # nothing of it is kept


def test_retry_after_nan_waits_like_a_missing_header_instead_of_spinning(hostile, limits):
    """`float("nan")` compares false with everything: the wait never added up and 429s were retried at once."""
    hostile.mode = "retry_after_nan"
    with BinanceRest(hostile.url) as rest:
        rest.max_retry_after_s = 2
        error = ended(rest.exchange_info)
    assert isinstance(error, ExchangeError)
    assert "HTTP 429, told to wait 1 s more after 2 s already" in str(error)
    assert hostile.requests == 3
