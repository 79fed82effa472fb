"""A simulated WebSocket connection's life, the same for every venue's streams: the session's receive and send loops
run beside its main loop (`run`), which sets `end` when the connection should end; then the server closes it the way
it ended.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from starlette.websockets import WebSocket

GOING_AWAY = 1001
REASON_CHARS = 120  # a close frame's reason is at most 123 bytes


class Session(Protocol):
    end: tuple[int | None, str] | None  # (close code, reason); code None: drop without a close frame

    async def receive(self) -> None: ...

    async def send(self) -> None: ...

    async def run(self) -> None: ...


async def run_session(session: Session, websocket: WebSocket) -> None:
    """Run an accepted session until it ends and close the way it ended (going away when it did not say)."""
    tasks = [asyncio.create_task(session.receive()), asyncio.create_task(session.send())]
    try:
        await session.run()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    code, reason = session.end or (GOING_AWAY, "")
    if code is not None:
        try:
            await websocket.close(code, reason[:REASON_CHARS])
        except (RuntimeError, OSError):
            pass
    # code None: return without a close frame; uvicorn closes the TCP connection (the client sees 1006)
