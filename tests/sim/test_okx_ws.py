"""The simulator's OKX WebSockets as okx.md documents them: acknowledgements and 60018 refusals (candles only on
/business), text ping/pong, a books snapshot then chained updates whose checksums are the true book's."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from streamforge.venues.okx.book import checksum

pytestmark = pytest.mark.slow


def ws_url(sim_url: str, path: str) -> str:
    return sim_url.replace("http://", "ws://") + path


async def exchange(url: str, send: list[str], count: int) -> list[str]:
    async with connect(url) as ws:
        for text in send:
            await ws.send(text)
        return [await asyncio.wait_for(ws.recv(), 10) for _ in range(count)]


def subscribe(*args: tuple[str, str]) -> str:
    return json.dumps({"op": "subscribe", "args": [{"channel": c, "instId": i} for c, i in args]})


def test_subscriptions_are_acknowledged_and_candles_on_public_are_refused_with_60018(sim_url):
    answers = asyncio.run(exchange(ws_url(sim_url, "/ws/v5/public"), [subscribe(("trades", "BTC-USDT"), ("candle1m", "BTC-USDT"), ("books", "NOPE-USDT"))], 3))
    events = [json.loads(a) for a in answers]
    assert events[0] == {"event": "subscribe", "arg": {"channel": "trades", "instId": "BTC-USDT"}, "connId": events[0]["connId"]}
    assert [e["code"] for e in events[1:]] == ["60018", "60018"] and all(e["event"] == "error" for e in events[1:])
    [ack] = asyncio.run(exchange(ws_url(sim_url, "/ws/v5/business"), [subscribe(("candle1m", "BTC-USDT-SWAP"))], 1))
    assert json.loads(ack)["event"] == "subscribe"


def test_a_text_ping_is_answered_pong(sim_url):
    assert asyncio.run(exchange(ws_url(sim_url, "/ws/v5/public"), ["ping"], 1)) == ["pong"]


def test_books_start_with_a_snapshot_then_updates_chain_by_seq_id_with_the_true_checksum(sim_url):
    messages = [json.loads(m) for m in asyncio.run(exchange(ws_url(sim_url, "/ws/v5/public"), [subscribe(("books", "BTC-USDT"))], 6))]
    pushes = [m for m in messages if "data" in m]
    assert pushes[0]["action"] == "snapshot" and pushes[0]["data"][0]["prevSeqId"] == -1
    assert len(pushes[0]["data"][0]["bids"]) == 400
    book = {side: {float(p): (p, s) for p, s, *_ in pushes[0]["data"][0][side]} for side in ("bids", "asks")}
    previous = pushes[0]["data"][0]["seqId"]
    for push in pushes[1:]:
        data = push["data"][0]
        assert push["action"] == "update" and data["prevSeqId"] == previous and data["seqId"] > previous
        for side in ("bids", "asks"):
            for p, s, *_ in data[side]:
                if float(s) == 0:
                    book[side].pop(float(p), None)
                else:
                    book[side][float(p)] = (p, s)
        bids = [book["bids"][p] for p in sorted(book["bids"], reverse=True)]
        asks = [book["asks"][p] for p in sorted(book["asks"])]
        assert checksum(bids, asks) == data["checksum"] != 0
        previous = data["seqId"]
