"""The simulator's WebSocket side speaks Binance's protocol and agrees with its own REST API."""

from __future__ import annotations

import asyncio
import json
import socket as socket_module
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from live_cases import SEED, SPEED, WINDOW
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig


def ws(sim_url: str, path: str) -> str:
    return sim_url.replace("http://", "ws://") + path


async def collect(url: str, seconds: float, **kw) -> list[dict]:
    messages = []
    async with connect(url, ping_interval=None, **kw) as socket:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                messages.append(json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic())))
            except TimeoutError:
                break
    return messages


def test_streamed_trades_are_the_rest_trades_with_the_same_ids(sim, sim_url):
    messages = asyncio.run(collect(ws(sim_url, "/stream?streams=ethusdt@aggTrade&timeUnit=MICROSECOND"), 3))
    trades = [m["data"] for m in messages]
    assert trades and all(m["stream"] == "ethusdt@aggTrade" for m in messages)
    ids = [t["a"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    rest = sim.get("/api/v3/aggTrades", params={"symbol": "ETHUSDT", "fromId": ids[0], "limit": len(ids)},
                   headers={"X-MBX-TIME-UNIT": "MICROSECOND"}).json()
    assert [{k: t[k] for k in "apqflTmM"} for t in trades] == rest


def test_a_futures_only_perpetual_streams_its_rest_trades_and_mark_prices_about_its_own_index(sim, sim_url):
    """1000PEPEUSDT has no spot instrument to index by: its index is its asset's own price."""
    streams = "1000pepeusdt@aggTrade/1000pepeusdt@markPrice@1s"
    messages = asyncio.run(collect(ws(sim_url, f"/market/stream?streams={streams}"), 4))
    trades = [m["data"] for m in messages if m["stream"] == "1000pepeusdt@aggTrade"]
    marks = [m["data"] for m in messages if m["stream"] == "1000pepeusdt@markPrice@1s"]
    ids = [t["a"] for t in trades]
    assert ids and ids == list(range(ids[0], ids[0] + len(ids)))
    rest = sim.get("/fapi/v1/aggTrades", params={"symbol": "1000PEPEUSDT", "fromId": ids[0], "limit": len(ids)}).json()
    assert [{k: t[k] for k in "apqflTm"} for t in trades] == rest
    assert marks and all(m["s"] == "1000PEPEUSDT" and abs(float(m["p"]) / float(m["i"]) - 1) < 0.05 for m in marks)


def test_times_are_milliseconds_unless_microseconds_are_asked_for(sim_url):
    ms = asyncio.run(collect(ws(sim_url, "/ws/btcusdt@aggTrade"), 1.5))
    us = asyncio.run(collect(ws(sim_url, "/ws/btcusdt@aggTrade?timeUnit=MICROSECOND"), 1.5))
    assert ms and us and "stream" not in ms[0]  # raw stream: no wrapper
    assert all(m["T"] < 10**13 for m in ms) and all(m["T"] > 10**15 for m in us)


def test_depth_diffs_chain_onto_a_rest_snapshot(sim, sim_url):
    async def run() -> tuple[list[dict], dict]:
        async with connect(ws(sim_url, "/stream?streams=btcusdt@depth@100ms"), ping_interval=None) as socket:
            first = json.loads(await socket.recv())["data"]
            snapshot = (await asyncio.to_thread(sim.get, "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 100})).json()
            events = [first] + [json.loads(await socket.recv())["data"] for _ in range(15)]
        return events, snapshot

    events, snapshot = asyncio.run(run())
    assert all(b["U"] == a["u"] + 1 for a, b in zip(events, events[1:]))  # consecutive, no gap
    assert events[0]["U"] <= snapshot["lastUpdateId"] + 1 <= events[-1]["u"]  # the snapshot sits on the chain
    assert all(e["e"] == "depthUpdate" and e["s"] == "BTCUSDT" for e in events)


def test_kline_events_are_open_until_the_interval_closes(sim_url):
    # At speed 4 a minute lasts 15 s; 2-second updates (8 per closing minute at most) and one closed event.
    messages = asyncio.run(collect(ws(sim_url, "/ws/solusdt@kline_1m"), 16))
    klines = [m["k"] for m in messages]
    closed = [k for k in klines if k["x"]]
    assert closed and any(not k["x"] for k in klines)
    assert all(k["i"] == "1m" and k["T"] - k["t"] == 60_000 - 1 for k in klines)
    # Per minute: open updates, then at most one closed event, and nothing for that minute after it.
    by_minute: dict[int, list[bool]] = {}
    for k in klines:
        by_minute.setdefault(k["t"], []).append(k["x"])
    assert all(flags.count(True) <= 1 and (True not in flags or flags[-1]) for flags in by_minute.values())


def test_control_messages_subscribe_list_and_unsubscribe(sim_url):
    async def run() -> list[dict]:
        async with connect(ws(sim_url, "/ws"), ping_interval=None) as socket:
            replies = []
            for message in (
                {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 1},
                {"method": "LIST_SUBSCRIPTIONS", "id": 2},
                {"method": "UNSUBSCRIBE", "params": ["ethusdt@depth"], "id": 3},
                {"method": "SUBSCRIBE", "params": ["nosuch@aggTrade"], "id": 4},
            ):
                await socket.send(json.dumps(message))
                while "id" not in (reply := json.loads(await socket.recv())):
                    pass
                replies.append(reply)
            return replies

    replies = asyncio.run(run())
    assert replies[0] == {"result": None, "id": 1}
    assert replies[1] == {"result": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 2}
    assert replies[2] == {"result": None, "id": 3}
    assert replies[3]["id"] == 4 and "error" in replies[3]


def test_more_than_five_control_messages_a_second_end_the_connection(sim_url):
    async def run() -> int:
        async with connect(ws(sim_url, "/ws"), ping_interval=None) as socket:
            for i in range(6):
                await socket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 5)
            return closed.value.rcvd.code

    assert asyncio.run(run()) == 1008


def test_at_most_1024_streams_per_connection(sim_url):
    assert asyncio.run(collect(ws(sim_url, "/stream?streams=btcusdt@kline_1m/ethusdt@aggTrade"), 0.5)) is not None

    async def too_many() -> int:
        async with connect(ws(sim_url, "/ws"), ping_interval=None) as socket:
            symbols = ["btcusdt", "ethusdt", "bnbusdt", "solusdt", "xrpusdt", "dogeusdt"]
            kinds = ["aggTrade", "depth", "depth@100ms"] + [f"kline_{i}" for i in ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")]
            streams = [f"{s}@{k}" for s in symbols for k in kinds]  # 96 distinct streams
            await socket.send(json.dumps({"method": "SUBSCRIBE", "params": streams * 11, "id": 1}))
            while "id" not in (reply := json.loads(await socket.recv())):
                pass
            return reply

    assert asyncio.run(too_many())["result"] is None  # 96 distinct streams are fine, repeats count once


def test_the_server_pings_and_a_client_that_answers_stays_connected(sim_url):
    """Ping every 0.5 s, pong deadline 1 s (test settings): 3 s later the answering client is still served."""
    messages = asyncio.run(collect(ws(sim_url, "/ws/btcusdt@depth@100ms"), 3))
    assert len(messages) > 20 and time.time()


# The faults act on every connection the simulator serves: spot's, and USD-M's routed futures streams.
TRADES = {"spot": "/ws/ethusdt@aggTrade", "usdm": "/market/ws/ethusdt@aggTrade"}


@pytest.mark.parametrize("path", TRADES.values(), ids=TRADES)
def test_server_shutdown_is_announced_before_the_close(sim, sim_url, path):
    sim.post("/sim/faults", json={"ws_shutdown_s": 1, "ws_shutdown_grace_s": 1})

    async def run() -> tuple[list[dict], int]:
        received = []
        async with connect(ws(sim_url, path), ping_interval=None) as socket:
            try:
                while True:
                    received.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
            except ConnectionClosed as closed:
                return received, closed.rcvd.code

    received, code = asyncio.run(run())
    assert {"e": "serverShutdown"}.items() <= next(m for m in received if m.get("e") == "serverShutdown").items()
    assert code == 1001


@pytest.mark.parametrize("path", TRADES.values(), ids=TRADES)
def test_faults_drop_duplicate_reorder_and_break_events(sim, sim_url, path):
    sim.post("/sim/faults", json={"ws_drop": 0.1, "ws_duplicate": 0.1, "ws_reorder": 0.1, "ws_malformed": 0.1})

    def faults_seen(raw: list[str]) -> tuple[int, list[int]]:
        parsed = []
        for text in raw:
            try:
                parsed.append(json.loads(text))
            except ValueError:
                pass
        broken = len(raw) - len(parsed) + sum(1 for m in parsed if m.get("p") == "not-a-number")
        return broken, [m["a"] for m in parsed if m.get("p") != "not-a-number"]

    def every_fault(raw: list[str]) -> bool:
        broken, ids = faults_seen(raw)
        reordered = any(b < a for a, b in zip(ids, ids[1:]))
        return broken >= 2 and len(ids) != len(set(ids)) and reordered and max(ids) - min(ids) + 1 > len(set(ids))

    async def run() -> list[str]:
        """Read until every fault has shown (each is a share of the events: how many come in a second varies)."""
        raw: list[str] = []
        async with connect(ws(sim_url, path), ping_interval=None) as socket:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not every_fault(raw):
                raw.append(await asyncio.wait_for(socket.recv(), 10))
        return raw

    broken, ids = faults_seen(asyncio.run(run()))
    assert broken >= 2
    assert len(ids) != len(set(ids))  # duplicates
    assert any(b < a for a, b in zip(ids, ids[1:]))  # one sent after the event that follows it
    assert max(ids) - min(ids) + 1 > len(set(ids))  # holes


FUTURES_DEPTH = "/public/ws/btcusdt@depth@100ms"


@pytest.mark.parametrize(("faults", "code"), [({"ws_disconnect_s": 1}, 1001), ({"ws_abort_s": 1}, None)],
                         ids=["disconnect", "abort"])
def test_a_futures_connection_is_closed_or_dropped_by_its_fault(sim, sim_url, faults, code):
    """Closed with 1001, or dropped without a close frame (the client sees 1006), after events flowed."""
    sim.post("/sim/faults", json=faults)

    async def run() -> tuple[int, int | None]:
        received = 0
        async with connect(ws(sim_url, FUTURES_DEPTH), ping_interval=None) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 5)
                    received += 1
        return received, closed.value.rcvd.code if closed.value.rcvd else None

    received, closed_with = asyncio.run(run())
    assert received > 0 and closed_with == code


def test_a_stalled_futures_connection_stays_open_and_sends_nothing(sim, sim_url):
    sim.post("/sim/faults", json={"ws_stall_s": 1})

    async def run() -> tuple[int, bool]:
        received = 0
        async with connect(ws(sim_url, FUTURES_DEPTH), ping_interval=None) as socket:
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), 2)
                    received += 1
            except TimeoutError:
                return received, socket.state is State.OPEN

    received, still_open = asyncio.run(run())
    assert received > 0 and still_open


def test_a_futures_connection_over_its_send_buffer_is_dropped_as_a_slow_consumer(sim, sim_url):
    """The limit is set below one event, so the first tick's events pass it even for a client that reads (what a
    client that stops reading brings about is shown on spot, in the test below)."""
    sim.post("/sim/faults", json={"ws_send_buffer": 1})

    async def run() -> tuple[int, str]:
        async with connect(ws(sim_url, FUTURES_DEPTH), ping_interval=None) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 5)
        return closed.value.rcvd.code, closed.value.rcvd.reason

    code, reason = asyncio.run(run())
    assert code == 1008 and "slow consumer" in reason


def test_a_consumer_that_does_not_read_is_dropped_as_slow(tmp_path):
    """Its own simulator with Binance's ping timing, so that the send-buffer limit, not the pong deadline, acts.

    What must overflow before the simulator's own queue grows: the client's receive window (kept tiny here), the
    server's socket buffer and the transport's 64 KiB before uvicorn stops writing. A market replayed 40 times
    faster than real time sends megabytes while the client does not read, however loaded the machine; its days are
    generated before the client connects, so the first tick carries no backlog that alone passes the 64 kB limit.
    The limit is set only once every stream flows: while the client still reads, a loaded machine must not make it a
    slow consumer already."""
    config = SimConfig(seed=SEED, speed=10 * SPEED, depth_window=WINDOW, cache_dir=tmp_path)

    async def run(url: str) -> tuple[int, str]:
        tcp = socket_module.socket()
        tcp.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_RCVBUF, 4096)
        tcp.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        symbols = ("btcusdt", "ethusdt", "bnbusdt", "solusdt")
        streams = "/".join(f"{s}@depth@100ms/{s}@aggTrade" for s in symbols)
        async with connect(ws(url, f"/stream?streams={streams}"), sock=tcp, ping_interval=None, max_queue=1) as socket:
            depth_streams = {f"{s}@depth@100ms" for s in symbols}
            while depth_streams:  # every symbol streaming before the client stops reading
                depth_streams.discard(json.loads(await asyncio.wait_for(socket.recv(), 30))["stream"])
            await asyncio.to_thread(httpx.post, f"{url}/sim/faults", json={"ws_send_buffer": 64_000})
            socket.transport.pause_reading()  # from now on, a client too slow to read anything
            await asyncio.sleep(6)
            socket.transport.resume_reading()
            with pytest.raises(ConnectionClosed) as closed:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    await asyncio.wait_for(socket.recv(), 5)
            return closed.value.rcvd.code, closed.value.rcvd.reason

    with running_simulator(config) as url:
        for symbol in ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"):  # generate the day first: no backlog to burst
            httpx.get(f"{url}/api/v3/aggTrades", params={"symbol": symbol, "limit": 1}, timeout=60)
        code, reason = asyncio.run(run(url))
    assert code == 1008 and "slow consumer" in reason


def test_faults_are_set_at_runtime_and_validated(sim):
    assert sim.post("/sim/faults", json={"ws_drop": 2}).status_code == 400
    assert sim.post("/sim/faults", json={"ws_abort_s": 5}).json()["ws_abort_s"] == 5
    assert httpx.get(str(sim.base_url) + "/sim/faults").json()["ws_abort_s"] == 5
