"""Every task of the live loader is watched: a task that dies is logged, counted and started again.

Without this an asyncio task that raises simply ends, its exception unread, and the loader keeps answering its health
checks while one of its connections or workers is gone. A supervised task that raises is logged with its traceback,
counted in `streamforge_live_task_restarts_total{task}` and restarted after a backoff; a task that keeps failing
— it has not stayed up for `stable_s` since its first failure `recovery_s` ago — makes `/healthz` fail, so the
orchestrator restarts the whole process.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from streamforge.live.health import Metrics

log = logging.getLogger(__name__)


@dataclass
class Watched:
    name: str
    started_at: float = 0.0
    failing_since: float | None = None
    failures: int = 0


class Supervisor:
    def __init__(self, metrics: Metrics, recovery_s: float, stable_s: float = 10.0, backoff_s: float = 0.5,
                 backoff_max_s: float = 10.0) -> None:
        self.metrics, self.recovery_s, self.stable_s = metrics, recovery_s, stable_s
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.watched: dict[str, Watched] = {}
        self.tasks: list[asyncio.Task] = []

    def start(self, name: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """Run `work()` until it returns (a task that ends on its own is done) or is cancelled; restart it on error."""
        watched = self.watched.setdefault(name, Watched(name))
        task = asyncio.create_task(self._run(watched, work), name=name)
        self.tasks.append(task)
        return task

    async def _run(self, watched: Watched, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            watched.started_at = time.monotonic()
            try:
                await work()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - anything a task raises is logged, counted and survived
                watched.failures += 1
                now = time.monotonic()
                if watched.failing_since is None or now - watched.started_at >= self.stable_s:
                    watched.failing_since = now
                self.metrics.task_restarts.labels(watched.name).inc()
                log.exception("live loader task %s failed (%d so far); restarting it", watched.name, watched.failures)
            delay = random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2 ** min(watched.failures, 10)))
            await asyncio.sleep(delay)

    def failing(self) -> list[str]:
        """Tasks that have kept failing for longer than `recovery_s` (liveness fails while there are any)."""
        now = time.monotonic()
        bad = []
        for watched in self.watched.values():
            if watched.failing_since is None:
                continue
            if now - watched.started_at >= self.stable_s:
                watched.failing_since = None  # up for long enough since its last start: recovered
            elif now - watched.failing_since > self.recovery_s:
                bad.append(watched.name)
        return bad

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
