"""The dashboard against pages and clients that are not its own, over real sockets: a name resolved to it by someone
else (DNS rebinding), a page on another site opening its feed (cross-site WebSocket hijacking), and a request built
to overflow the JSON parser. Each is refused, and the dashboard goes on serving its own pages."""

from __future__ import annotations

import base64
import json
import os
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from page_socket import PageSocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def handshake_status(url: str, headers: dict[str, str]) -> int:
    """The HTTP status of a WebSocket opening handshake to /ws sent with exactly these extra headers."""
    parts = urlsplit(url)
    lines = [
        "GET /ws HTTP/1.1", f"Host: {headers.pop('Host', parts.netloc)}", "Upgrade: websocket", "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_a_host_the_dashboard_does_not_go_by_is_refused(dashboard):
    port = urlsplit(dashboard).port
    for path in ("/", "/healthz", "/static/dashboard.js"):
        assert httpx.get(f"{dashboard}{path}", headers={"Host": f"rebound.example:{port}"}).status_code == 400
    assert handshake_status(dashboard, {"Host": f"rebound.example:{port}"}) != 101
    assert httpx.get(f"{dashboard}/healthz", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_a_page_from_another_origin_cannot_open_the_feed(dashboard):
    host = urlsplit(dashboard).netloc
    assert handshake_status(dashboard, {"Origin": "https://evil.example"}) == 403
    assert handshake_status(dashboard, {"Origin": f"http://{host}"}) == 101  # the dashboard's own page
    assert handshake_status(dashboard, {}) == 101  # not a browser: no Origin, nothing it could not read itself


@pytest.mark.parametrize("depth", [100_000, 1_000])
def test_a_deeply_nested_request_closes_that_socket_and_the_dashboard_goes_on(dashboard, depth):
    with connect(dashboard.replace("http://", "ws://") + "/ws") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send("[" * depth + "]" * depth)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1009
    with PageSocket(dashboard, "binance.spot.ETHUSDT") as page:
        assert page.next("snapshot")["instrument"] == "binance.spot.ETHUSDT"
