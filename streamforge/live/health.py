"""What the live loader tells its operators: Prometheus metrics and the /healthz, /readyz, /metrics endpoints.

Each loader has its own registry (tests run several in one process). Ages ("seconds since the last event of each
stream") are computed when scraped, so a stream that went silent shows a growing age without anybody updating it —
which is exactly what an alert on a silent stall needs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

RATE_WINDOW_S = 10.0
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("streamforge_live_events", "Stream events received", ["instrument", "type"], registry=r)
        self.events_per_s = Gauge("streamforge_live_events_per_second", f"Events received per second over the last {RATE_WINDOW_S:g} s", registry=r)
        self.event_age = Gauge("streamforge_live_last_event_age_seconds", "Seconds since the last event of each instrument and type", ["instrument", "type"], registry=r)
        self.reconnects = Counter("streamforge_live_reconnects", "WebSocket connections replaced, by reason", ["reason"], registry=r)
        self.gaps_repaired = Counter("streamforge_live_gap_ids_repaired", "Ids missing from the stream and fetched by REST", ["instrument", "type"], registry=r)
        self.duplicates = Counter("streamforge_live_duplicates_dropped", "Events dropped because their id was already published", ["instrument", "type"], registry=r)
        self.book_resyncs = Counter("streamforge_live_book_resyncs", "Local order books restarted from a REST snapshot, by reason", ["instrument", "reason"], registry=r)
        self.publish_latency = BatchHistogram("streamforge_live_publish_latency_seconds", "WebSocket receive to Kafka acknowledgement, per row", LATENCY_BUCKETS, r)
        self.published_rows = Counter("streamforge_live_published_rows", "Rows acknowledged by Kafka", ["topic"], registry=r)
        self.dead_letters = Counter("streamforge_live_dead_letters", "Events sent to the dead-letter topic, by reason", ["reason"], registry=r)
        self.unpublished = Counter("streamforge_live_unpublished_rows", "Rows that could not be published (ids recorded for a REST repair)", ["topic"], registry=r)
        self.buffer_bytes = Gauge("streamforge_live_buffer_bytes", "Bytes waiting for Kafka (buffered and in flight)", registry=r)
        self.connected = Gauge("streamforge_live_connected", "Open WebSocket connections", registry=r)
        self.shard = Gauge("streamforge_live_shard_instruments", "Instruments this loader follows, labelled with its shard (k/n)", ["shard"], registry=r)
        self.task_restarts = Counter("streamforge_live_task_restarts", "Loader tasks that failed and were restarted", ["task"], registry=r)
        self.handling_errors = Counter("streamforge_live_handling_errors", "Events whose handling raised an unexpected error (dead-lettered)", registry=r)
        self._last_seen: dict[tuple[str, str], float] = {}
        self._arrivals: deque[tuple[float, int]] = deque()
        self._unflushed: dict[tuple[str, str], int] = {}  # (instrument, type) -> events not yet in `events`

    def seen(self, instrument: str, kind: str) -> None:
        """Count one event. The Prometheus counter is brought up to date when scraped: a labelled increment per event
        would cost more than parsing the event."""
        now = time.monotonic()
        key = (instrument, kind)
        self._last_seen[key] = now
        self._unflushed[key] = self._unflushed.get(key, 0) + 1
        if self._arrivals and now - self._arrivals[-1][0] < 0.1:
            at, count = self._arrivals[-1]
            self._arrivals[-1] = (at, count + 1)
        else:
            self._arrivals.append((now, 1))

    def last_event_ages(self) -> dict[tuple[str, str], float]:
        now = time.monotonic()
        return {key: now - at for key, at in self._last_seen.items()}

    def render(self) -> bytes:
        """Prometheus text, with the event counts and the time-dependent gauges brought up to date first."""
        unflushed, self._unflushed = self._unflushed, {}
        for (instrument, kind), count in unflushed.items():
            self.events.labels(instrument, kind).inc(count)
        for (instrument, kind), age in self.last_event_ages().items():
            self.event_age.labels(instrument, kind).set(age)
        now = time.monotonic()
        while self._arrivals and self._arrivals[0][0] < now - RATE_WINDOW_S:
            self._arrivals.popleft()
        self.events_per_s.set(sum(count for _, count in self._arrivals) / RATE_WINDOW_S)
        return generate_latest(self.registry)


class BatchHistogram:
    """A Prometheus histogram observed a batch at a time: a Kafka acknowledgement covers every row of its message,
    and one labelled `observe` per row costs more than publishing the row."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...], registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = np.array(buckets)
        self.counts = np.zeros(len(buckets) + 1, dtype=np.int64)  # the last: above every bound (+Inf)
        self.sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe(self, values: np.ndarray) -> None:
        found = np.bincount(np.searchsorted(self.bounds, values, side="left"), minlength=len(self.counts))
        with self._lock:
            self.counts += found
            self.sum += float(values.sum())

    def collect(self):
        with self._lock:
            cumulative, total = np.cumsum(self.counts).tolist(), self.sum
        family = HistogramMetricFamily(self.name, self.documentation)
        bounds = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        family.add_metric([], list(zip(bounds, cumulative)), total)
        yield family


def app(metrics: Metrics, readiness: Callable[[], dict[str, str]], liveness: Callable[[], list[str]]) -> Starlette:
    """`readiness()` returns what keeps the loader from being ready (empty: ready); `liveness()` the tasks that keep
    failing (empty: alive)."""

    async def healthz(request: Request) -> Response:
        failing = liveness()  # answering at all proves the event loop is not blocked
        if failing:
            return PlainTextResponse(f"tasks keep failing: {', '.join(failing)}", 503)
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        problems = readiness()
        return JSONResponse({"ready": not problems, "problems": problems}, 503 if problems else 200)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics_page)])


async def serve(metrics: Metrics, readiness: Callable[[], dict[str, str]], liveness: Callable[[], list[str]], host: str,
                port: int, stop: asyncio.Event) -> uvicorn.Server:
    """Serve the endpoints in the current event loop until `stop` is set; returns the started server (its port)."""
    server = uvicorn.Server(uvicorn.Config(app(metrics, readiness, liveness), host=host, port=port, log_level="warning", access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (port in use, ...)
        await asyncio.sleep(0.01)

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True
        await task

    asyncio.create_task(stop_when_asked())
    return server


def bound_port(server: uvicorn.Server) -> int:
    return server.servers[0].sockets[0].getsockname()[1]
