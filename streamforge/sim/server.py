"""The Binance-compatible server: REST market data, dump files, WebSocket streams (`ws`) and admin endpoints;
beside it, OKX's REST, daily files and WebSockets (`venues.okx.simulator`) from the same market.

A real Binance client works against it by changing its base URLs only: spot (`/api/v3`, `/data/spot`) and USD-M
futures (`/fapi`, `/futures/data`, `/data/futures/um`) are served side by side. Around every weighted endpoint the
server applies what Binance applies: the IP's request weight on that API (spot and futures are separate hosts with
separate limits; some futures endpoints also count requests), then the configured faults; errors are Binance's
`{"code", "msg"}` bodies. `/sim/stats`, `/sim/reset` and `/sim/faults` let tests and benchmarks observe and
steer it; they carry no weight.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streamforge.errors import ConfigError
from streamforge.venues.binance.simulator import dump_routes, usdm_dump_routes, usdm_rest, usdm_ws, ws
from streamforge.sim.faults import Faults
from streamforge.venues.binance.simulator.ratelimit import RateLimiter, window_header
from streamforge.venues.binance.simulator.rest import ENDPOINTS, Endpoint
from streamforge.sim.state import SimConfig, SimState
from streamforge.venues.binance.simulator.wire import ApiError, Params, time_unit_us
from streamforge.venues.okx.simulator import routes as okx

__all__ = ["SimConfig", "create_app", "serve"]

INTERNAL_ERROR = ApiError(503, -1001, "Internal error; unable to process your request. Please try again.")


def api_route(sim: SimState, path: str, endpoint: Endpoint, limiter: RateLimiter, requests: RateLimiter | None = None) -> Route:
    """A weighted Binance endpoint: weight check on its API's `limiter` (and the endpoint's own request count, when
    it has one), faults, handler, Binance headers and error bodies."""

    def respond(request: Request) -> Response:
        if sim.faults.slow_ms:
            time.sleep(sim.faults.slow_ms / 1000)
        ip = request.client.host if request.client else "unknown"
        decision = limiter.admit(ip, endpoint.weight(request.query_params))
        if decision.status == 200 and requests is not None:
            counted = requests.admit(ip, 1)
            decision = counted if counted.status != 200 else decision
        headers = {"X-MBX-USED-WEIGHT-1M": str(decision.used_weight)}
        headers[window_header(sim.config.weight_window_s)] = str(decision.used_weight)
        if decision.status != 200:
            headers["Retry-After"] = str(decision.retry_after_s)
            response = JSONResponse({"code": -1003, "msg": decision.message}, decision.status, headers)
        elif sim.shares.hit("rate429", sim.faults.rate429):
            limiter.penalise(ip, sim.faults.retry_after_s)
            headers["Retry-After"] = str(sim.faults.retry_after_s)
            message = "Too much request weight used; please use WebSocket Streams for live updates to avoid polling the API."
            response = JSONResponse({"code": -1003, "msg": message}, 429, headers)
        elif sim.shares.hit("error5xx", sim.faults.error5xx):
            response = JSONResponse(INTERNAL_ERROR.body(), INTERNAL_ERROR.status, headers)
        else:
            try:
                unit_us = time_unit_us(request.headers, request.query_params)
                payload = endpoint.handler(sim, Params(request.query_params, endpoint.params), unit_us)
                response = JSONResponse(payload, 200, headers)
            except ApiError as error:
                response = JSONResponse(error.body(), error.status, headers)
        sim.stats.record(path, response.status_code)
        return response

    return Route(path, respond, methods=["GET"])


def dump_route(sim: SimState, path: str, serve_file: Callable[[SimState, Request], Response]) -> Route:
    def respond(request: Request) -> Response:
        if sim.faults.slow_ms:
            time.sleep(sim.faults.slow_ms / 1000)
        response = serve_file(sim, request)
        sim.stats.record(path.split("/{")[0], response.status_code)
        return response

    return Route(path, respond, methods=["GET", "HEAD"])


FROM_A_PAGE = JSONResponse({"error": "the simulator's admin endpoints take no requests from web pages (Origin header)"}, 403)


def admin_routes(sim: SimState) -> list[Route]:
    """The admin endpoints. A POST that carries an Origin was sent by a web page: any site open in a developer's
    browser could otherwise break or reset the simulator on loopback (a form or `fetch` POST needs no CORS consent).
    Tests and benchmarks send no Origin."""

    async def stats(request: Request) -> Response:
        used = {"used_weight": sim.limiter.used_by_ip(), "futures_used_weight": sim.futures_limiter.used_by_ip()}
        return JSONResponse(sim.stats.to_json() | used)

    async def reset(request: Request) -> Response:
        if "origin" in request.headers:
            return FROM_A_PAGE
        sim.reset()
        return JSONResponse({"reset": True})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            if "origin" in request.headers:
                return FROM_A_PAGE
            try:
                sim.faults = Faults.from_mapping(await request.json())
            except (ConfigError, ValueError, TypeError) as error:
                return JSONResponse({"error": str(error)}, 400)
            sim.shares.reset()
        return JSONResponse(sim.faults.to_json())

    return [
        Route("/sim/stats", stats, methods=["GET"]),
        Route("/sim/reset", reset, methods=["POST"]),
        Route("/sim/faults", faults, methods=["GET", "POST"]),
    ]


def create_app(config: SimConfig) -> Starlette:
    sim = SimState(config)
    routes = [api_route(sim, path, endpoint, sim.limiter) for path, endpoint in ENDPOINTS.items()]
    routes += [
        api_route(sim, path, endpoint, sim.futures_limiter, _request_limiter(sim, path))
        for path, endpoint in usdm_rest.ENDPOINTS.items()
    ]
    routes += [
        dump_route(sim, "/data/spot/daily/aggTrades/{symbol}/{filename}", dump_routes.agg_trades_file),
        dump_route(sim, "/data/spot/daily/klines/{symbol}/{interval}/{filename}", dump_routes.klines_file),
        dump_route(sim, "/data/futures/um/daily/aggTrades/{symbol}/{filename}", usdm_dump_routes.agg_trades_file),
        dump_route(sim, "/data/futures/um/daily/{kind}/{symbol}/{interval}/{filename}", usdm_dump_routes.klines_file),
        dump_route(sim, "/data/futures/um/monthly/fundingRate/{symbol}/{filename}", usdm_dump_routes.funding_file),
    ]
    routes += okx.routes(sim)
    app = Starlette(routes=routes + ws.routes(sim) + usdm_ws.routes(sim) + admin_routes(sim))
    app.state.sim = sim
    return app


def _request_limiter(sim: SimState, path: str) -> RateLimiter | None:
    return next((limiter for paths, limiter in sim.request_limiters.items() if path in paths), None)


def uvicorn_options(config: SimConfig) -> dict:
    """Server options that are Binance's WebSocket rules: uvicorn sends the pings and enforces the pong deadline."""
    return {"ws_ping_interval": config.ws_ping_s, "ws_ping_timeout": config.ws_pong_timeout_s, "log_level": "warning", "access_log": False}


def serve(config: SimConfig, host: str, port: int) -> None:
    """Serve until interrupted (the `streamforge sim` command)."""
    uvicorn.run(create_app(config), host=host, port=port, **uvicorn_options(config))
