"""The dashboard's web server: the page, its static files, `/healthz`, and the `/ws` feed; plus ways to run it.

The Kafka consumer runs in a thread (kafka-python blocks) and hands each poll's deltas to the event loop with
`call_soon_threadsafe`, so the views and the clients are only ever touched by the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from streamforge.dashboard.config import DashboardConfig
from streamforge.dashboard.feed import KafkaFeed
from streamforge.dashboard.history import fill_history
from streamforge.dashboard.hub import Hub
from streamforge.dashboard.loader_metrics import Fleet
from streamforge.dashboard.views import Views
from streamforge.heap import freeze_startup_heap
from streamforge.net import serving_in_thread

log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent / "web"
CHART_LIBRARY = WEB / "node_modules" / "lightweight-charts" / "dist"
_HEALTH_EVERY_S = 1.0


def create_app(config: DashboardConfig) -> Starlette:
    hub = Hub(Views(config.candles, config.tape, [config.instrument]), config.push_ms, config.client_queue)
    loaders = Fleet(config.metrics_urls)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        loop = asyncio.get_running_loop()
        feed = KafkaFeed(config, lambda deltas: loop.call_soon_threadsafe(hub.ingest, deltas))
        app.state.feed = feed
        feed.start()
        tasks = [asyncio.create_task(hub.push_forever()), asyncio.create_task(_report_health(hub, feed, loaders))]
        if config.history_urls is not None:
            tasks.append(asyncio.create_task(fill_history(hub.views, config.history_urls, config.candles, hub.ingest)))
            tasks.append(asyncio.create_task(hub.across.identify_forever(config.history_urls)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.to_thread(feed.stop)

    async def index(request: Request) -> FileResponse:
        return FileResponse(WEB / "index.html")

    async def healthz(request: Request) -> JSONResponse:
        """Liveness of the server itself (200 while it serves); Kafka's state is reported, not judged."""
        return JSONResponse({
            "status": "ok",
            "kafka": _kafka_health(request.app.state.feed),
            "clients": len(hub.clients),
            "instruments": hub.views.instruments,
        })

    async def feed_socket(websocket: WebSocket) -> None:
        if not _same_origin(websocket):
            await websocket.close(code=1008, reason="a page from another origin may not use this feed")  # HTTP 403
            return
        await hub.serve(websocket, config.instrument)

    if not CHART_LIBRARY.is_dir():
        log.warning("the chart library is not installed: run `npm ci` in %s (make does); the page cannot draw", WEB)
    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            WebSocketRoute("/ws", feed_socket),
            Mount("/static", StaticFiles(directory=WEB / "static"), name="static"),
            Mount("/vendor/lightweight-charts", StaticFiles(directory=CHART_LIBRARY, check_dir=False), name="vendor"),
        ],
        lifespan=lifespan,
        # A Host the dashboard does not go by is a page that had a name resolved to it (DNS rebinding): refused.
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts), www_redirect=False)],
    )


def _same_origin(websocket: WebSocket) -> bool:
    """Whether the page that opens /ws came from this dashboard. Browsers always send Origin and a page on another
    site could otherwise read the feed through the visitor's browser (cross-site WebSocket hijacking); a client
    without one is not a browser and reads nothing it could not read by itself."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


def _kafka_health(feed: KafkaFeed) -> dict:
    return {"lag": feed.lag, "error": feed.error, "undecodable": feed.undecodable, "partitions": len(feed.assigned)}


async def _report_health(hub: Hub, feed: KafkaFeed, loaders: Fleet) -> None:
    """Every second: consumer lag and every loader's metrics to every page (each page its instrument's)."""
    async with httpx.AsyncClient(timeout=_HEALTH_EVERY_S / 2) as client:
        while True:
            await loaders.scrape(client)
            hub.publish_health({"kafka": _kafka_health(feed), "server_us": time.time_ns() // 1000}, loaders.for_instrument)
            await asyncio.sleep(_HEALTH_EVERY_S)


def serve(config: DashboardConfig, host: str, port: int) -> None:
    """Run until Ctrl-C (`streamforge dashboard`)."""
    app = create_app(config)
    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, log_level="info")


@contextmanager
def running_dashboard(config: DashboardConfig) -> Iterator[str]:
    """Serve `config` from a thread on a free loopback port for tests and benchmarks; yield http://127.0.0.1:<port>."""
    with serving_in_thread(create_app(config), "dashboard", log_level="warning", access_log=False) as url:
        yield url
