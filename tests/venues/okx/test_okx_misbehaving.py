"""An OKX that does not behave as documented, on a real local socket: the client refuses in one line, never a
quietly wrong day.

Each test picks what the server answers; the client is the real one. These are the places okx.md marks unconfirmed
or where clients have been bitten (inclusive cursors, ccxt #21036; 50011 with another HTTP status).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from streamforge.errors import ExchangeError, MalformedDataError
from streamforge.venues.okx.rest import OkxRest
from streamforge.venues.okx.wire import HISTORY_TRADES, INSTRUMENTS, TIME

SPOT_ROW = {
    "instType": "SPOT", "instId": "BTC-USDT", "uly": "", "instFamily": "", "baseCcy": "BTC", "quoteCcy": "USDT",
    "settleCcy": "", "ctVal": "", "ctMult": "", "ctValCcy": "", "ctType": "", "listTime": "1500000000000",
    "expTime": "", "lever": "10", "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "state": "live",
}
NOW_MS = 1_736_467_200_000  # 2025-01-10


def trade(trade_id: int, ts: int, px: str = "95000.1") -> dict:
    return {"instId": "BTC-USDT", "tradeId": str(trade_id), "px": px, "sz": "0.01", "side": "buy", "ts": str(ts)}


class Misbehaving(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.trades = lambda query: []  # what history-trades answers, given the query
        self.status = 200
        self.seen: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Misbehaving

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.seen.append({"path": url.path, **query})
        if url.path == INSTRUMENTS:
            body: object = {"code": "0", "msg": "", "data": [SPOT_ROW]}
        elif url.path == TIME:
            body = {"code": "0", "msg": "", "data": [{"ts": str(NOW_MS)}]}
        else:
            body = self.server.trades(query)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(self.server.status if url.path == HISTORY_TRADES else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def okx() -> Iterator[Misbehaving]:
    server = Misbehaving()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(okx):
    with OkxRest(okx.url, retries=1) as rest:
        yield rest, rest.listing("okx.spot", "BTC-USDT")


def test_an_inclusive_cursor_is_refused_not_repeated(okx, client):
    rest, listing = client
    okx.trades = lambda q: {"code": "0", "msg": "", "data": [trade(int(q["after"]), NOW_MS - 5), trade(int(q["after"]) - 1, NOW_MS - 6)]}
    with pytest.raises(MalformedDataError, match=r"trade id 500 is not older than the exclusive cursor after=500"):
        rest.trades_page(listing, after=500)


def test_a_page_out_of_order_is_refused(okx, client):
    rest, listing = client
    okx.trades = lambda q: {"code": "0", "msg": "", "data": [trade(10, NOW_MS - 9), trade(12, NOW_MS - 5)]}
    with pytest.raises(MalformedDataError, match="rows are not newest first by trade id and time"):
        rest.trades_page(listing, after=500)


def test_a_number_that_is_not_a_string_is_refused_naming_the_row(okx, client):
    rest, listing = client
    okx.trades = lambda q: {"code": "0", "msg": "", "data": [trade(10, NOW_MS - 9) | {"px": 95000.1}]}
    with pytest.raises(MalformedDataError, match=r"row 1: field 'px' = 95000.1 is not a string \(OKX sends numbers as strings\)"):
        rest.trades_page(listing, after=500)


def test_a_50011_under_any_http_status_backs_off_and_asks_again(okx, client):
    rest, listing = client
    calls = []

    def answer(query):
        calls.append(query)
        if len(calls) == 1:
            return {"code": "50011", "msg": "Too Many Requests", "data": []}
        return {"code": "0", "msg": "", "data": [trade(10, NOW_MS - 9)]}

    okx.trades, okx.status = answer, 200  # the status of a 50011 is unconfirmed: the code decides
    assert rest.trades_page(listing, after=500)["agg_id"].to_list() == [10]
    assert len(calls) == 2


def test_an_answer_that_is_not_the_envelope_is_one_line_naming_the_request(okx, client):
    rest, listing = client
    okx.trades, okx.status = (lambda q: "<html>gateway</html>"), 403
    with pytest.raises(ExchangeError, match=r"^GET .*history-trades\?instId=BTC-USDT.*: HTTP 403: not OKX's envelope: '<html>gateway</html>'$"):
        rest.trades_page(listing, after=500)


def test_history_that_ends_before_the_day_began_is_an_error_not_a_partial_day(okx, client):
    rest, listing = client
    okx.trades = lambda q: {"code": "0", "msg": "", "data": [trade(10, NOW_MS - 9)] if q.get("type") == "2" else []}
    with pytest.raises(ExchangeError, match="history ends at trade 10 before reaching .* the day cannot be completed from REST"):
        rest.trades_between(listing, NOW_MS - 86_400_000, NOW_MS)
