"""WebSocket compression is asked of the venue only when STREAMFORGE_LIVE_WS_COMPRESSION says so (inflating every
message cost the loader more CPU than parsing it), and a value it does not know is refused by name."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.server import serve

from streamforge.errors import ConfigError
from streamforge.live.connection import Connection, compression
from streamforge.live.feed import ConnectionPlan, Rules
from streamforge.live.health import Metrics


def offered_extensions(setting: str, monkeypatch) -> str:
    """The Sec-WebSocket-Extensions header a venue receives from a connection made under `setting`."""
    monkeypatch.setenv("STREAMFORGE_LIVE_WS_COMPRESSION", setting)
    offered: list[str] = []

    async def venue(ws) -> None:
        offered.append(ws.request.headers.get("Sec-WebSocket-Extensions", ""))
        await ws.send('{"n": 1}')
        await asyncio.sleep(1)

    async def run() -> None:
        async with serve(venue, "127.0.0.1", 0) as server:
            plan = ConnectionPlan(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ws", [], frozenset())
            delivered = asyncio.Event()
            connection = Connection(plan, Rules(control_per_s=1), lambda raw, ns: delivered.set() or False, Metrics(),
                                    compression=compression(), stall_s=5, max_age_s=60, backoff_s=0.1, backoff_max_s=1)
            stop = asyncio.Event()
            task = asyncio.create_task(connection.run(stop))
            await asyncio.wait_for(delivered.wait(), 10)
            stop.set()
            await task

    asyncio.run(run())
    return offered[0]


def test_compression_is_asked_for_only_when_the_setting_says_deflate(monkeypatch):
    assert offered_extensions("none", monkeypatch) == ""
    assert "permessage-deflate" in offered_extensions("deflate", monkeypatch)


def test_an_unknown_compression_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_LIVE_WS_COMPRESSION", "gzip")
    with pytest.raises(ConfigError, match=r"^STREAMFORGE_LIVE_WS_COMPRESSION='gzip'; expected one of none, deflate$"):
        compression()
