"""The client's keep-alive where the venue wants one (OKX): a text ping every `ping_after_s` even while messages
stream without a pause, since OKX may close a connection after 30 s without data from the client (4004)."""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import serve

from streamforge.live.connection import Connection
from streamforge.live.feed import ConnectionPlan, Rules
from streamforge.live.health import Metrics


def test_a_busy_feed_still_pings_every_interval():
    heard: list[str] = []
    delivered: list[str] = []

    async def venue(ws) -> None:
        async def listen() -> None:
            async for text in ws:
                heard.append(text)

        listener = asyncio.create_task(listen())
        try:
            for i in range(10_000):  # a message every 5 ms: the client never waits a whole ping interval
                await ws.send(f'{{"n": {i}}}')
                await asyncio.sleep(0.005)
        finally:
            listener.cancel()

    async def run() -> None:
        async with serve(venue, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            plan = ConnectionPlan(f"ws://127.0.0.1:{port}/ws", [], frozenset())
            connection = Connection(plan, Rules(control_per_s=1, ping_text="ping", ping_after_s=0.4),
                                    lambda raw, ns: delivered.append(raw) and False, Metrics(),
                                    stall_s=5, max_age_s=60, backoff_s=0.1, backoff_max_s=1)
            stop = asyncio.Event()
            task = asyncio.create_task(connection.run(stop))
            await asyncio.sleep(2.2)
            stop.set()
            await task

    asyncio.run(run())
    assert len(delivered) > 100  # the feed was busy the whole time
    assert heard.count("ping") >= 4  # about one per 0.4 s over 2.2 s
