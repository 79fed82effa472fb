"""OKX's public REST served from the simulated market: the `/api/v5` endpoints StreamForge reads, in OKX's envelope.

Every answer is `{"code", "msg", "data"}` with numbers as strings (`wire`). Around each endpoint the server applies
OKX's limit for it (`ratelimit`: HTTP 429, code 50011), then the configured faults (`rate429`, `error5xx`,
`slow_ms`, `malformed`); a bad parameter is 51000 and an instrument OKX does not list 51001, both HTTP 400. Handlers
see the market as of the simulator's clock: a trade or bar after "now" does not exist yet, history-trades reaches
back three calendar months, candles serves the latest 1,440 bars and history-candles every one.

Paging follows the documentation: newest first; `after` asks for rows older than its cursor, `before` for newer
ones, both exclusive; history-trades pages by trade id (`type=1`, the default) or by time (`type=2`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date, timedelta

import polars as pl
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streamforge.sim import book
from streamforge.sim.calendar import US_PER_MS, day_of, day_start_us
from streamforge.sim.faults import malformed_agg_id
from streamforge.sim.instruments import Instrument
from streamforge.sim.klines import INTERVALS
from streamforge.sim.state import SimState
from streamforge.venues.okx.simulator import wire
from streamforge.venues.okx.wire import (
    BAD_PARAMETER,
    BARS,
    BOOKS,
    BY_TIME,
    BY_TRADE_ID,
    CANDLES,
    CANDLES_REACH_BARS,
    FUNDING_HISTORY,
    HISTORY_CANDLES,
    HISTORY_TRADES,
    INST_TYPES,
    INSTRUMENTS,
    OK,
    PAGE,
    RATE_LIMITED,
    TIME,
    TRADES,
    UNKNOWN_INSTRUMENT,
    UTC_BARS,
    ApiError,
)

REACH_MONTHS = 3
#: OKX's UTC bars → the simulator's intervals (the UTC+8 bars 6H, 12H, 1D... and 1s are not simulated).
SIMULATED_BARS = {bar: interval for interval, bar in UTC_BARS.items() if interval in INTERVALS and bar != "1s"}
INTERNAL_ERROR = ApiError(503, "50001", "Service temporarily unavailable. Please try again later.")


def bad(name: str) -> ApiError:
    return ApiError(400, BAD_PARAMETER, f"Parameter {name} error")


class Query:
    """The parameters of one request, read the way OKX reads them."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self._params = dict(params)

    def text(self, name: str) -> str | None:
        value = self._params.get(name)
        return value if value else None

    def number(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not value.isdigit() or len(value) > 19:
            raise bad(name)
        return int(value)

    def limit(self, path: str, default: int = 100) -> int:
        value = self.number("limit")
        if value == 0:
            raise bad("limit")
        return min(default if value is None else value, PAGE[path])


def listed(sim: SimState, query: Query) -> Instrument:
    """The instrument `instId` names, if OKX lists it today; 51001 otherwise (a malformed id is not listed either)."""
    inst_id = query.text("instId")
    if inst_id is None:
        raise bad("instId")
    market = "okx.swap" if inst_id.endswith("-SWAP") else "okx.spot"
    spec = sim.market.listed(market, sim.clock.today()).get(inst_id)
    if spec is None:
        raise ApiError(400, UNKNOWN_INSTRUMENT, "Instrument ID does not exist")
    return spec


# --- endpoints --------------------------------------------------------------------------------------------------------


def instruments(sim: SimState, query: Query) -> list:
    inst_type = query.text("instType")
    if inst_type not in INST_TYPES:
        raise bad("instType")
    market = wire.INST_TYPES.get(inst_type)
    if market is None:
        return []  # MARGIN, FUTURES, OPTION: none simulated
    today = sim.clock.today()
    rows = [wire.instrument_row(spec, spec.status_on(today)) for spec in sim.market.listed(market, today).values()]
    inst_id = query.text("instId")
    return [r for r in rows if r["instId"] == inst_id] if inst_id else rows


def server_time(sim: SimState, query: Query) -> list:
    return [{"ts": str(sim.clock.now_us() // US_PER_MS)}]


def history_trades(sim: SimState, query: Query) -> list:
    spec = listed(sim, query)
    by = query.text("type") or BY_TRADE_ID
    if by not in (BY_TRADE_ID, BY_TIME):
        raise bad("type")
    after, before, limit = query.number("after"), query.number("before"), query.limit(HISTORY_TRADES)
    if before is not None and by == BY_TIME:
        raise bad("before")  # history-trades takes `before` as a trade id only [MIR]
    page = _older_trades(sim, spec, after, by, limit)
    if before is not None:  # the newest rows older than `after` and newer than `before`
        page = page.filter(pl.col("first_trade_id") > before)
    return _trade_rows(sim, spec, page)


def trades(sim: SimState, query: Query) -> list:
    spec = listed(sim, query)
    return _trade_rows(sim, spec, _older_trades(sim, spec, None, BY_TRADE_ID, query.limit(TRADES)))


def candles(sim: SimState, query: Query) -> list:
    return _candles(sim, query, CANDLES)


def history_candles(sim: SimState, query: Query) -> list:
    return _candles(sim, query, HISTORY_CANDLES)


def funding_history(sim: SimState, query: Query) -> list:
    spec = listed(sim, query)
    if not spec.perpetual:
        raise bad("instId")
    limit, step = query.limit(FUNDING_HISTORY), spec.funding_hours * 3_600_000_000
    end, start = _window(sim, query, step, limit)
    funding = sim.market.funding_rates(spec.id, start, end)
    return wire.funding_rows(spec, funding.reverse().head(limit))


def books(sim: SimState, query: Query) -> list:
    spec = listed(sim, query)
    levels = query.number("sz") or 1
    if not 1 <= levels <= PAGE[BOOKS]:
        raise bad("sz")
    now_us = sim.clock.now_us()
    state = sim.market.book_state(spec.id, book.update_id(now_us), levels)
    return [{"asks": wire.book_rows(spec, state.asks), "bids": wire.book_rows(spec, state.bids),
             "ts": str(now_us // US_PER_MS), "seqId": state.last_update_id}]


# --- trades -----------------------------------------------------------------------------------------------------------


def _older_trades(sim: SimState, spec: Instrument, after: int | None, by: str, limit: int) -> pl.DataFrame:
    """The newest `limit` trades older than the exclusive cursor `after` (a trade id, or ms with BY_TIME; the latest
    without one), within the reach and before now: newest first."""
    now_us = sim.clock.now_us()
    reach_us = day_start_us(_months_back(sim.clock.today(), REACH_MONTHS))
    time_us = pl.col("time").dt.epoch("us")
    if after is None:
        day, keep = day_of(now_us), pl.lit(True)
    elif by == BY_TIME:
        day, keep = day_of(min(after * US_PER_MS, now_us) - 1), time_us < after * US_PER_MS
    else:
        day, keep = min(sim.market.day_of_trade_id(spec.id, after - 1), day_of(now_us)), pl.col("first_trade_id") < after
    parts, taken = [], 0
    first_day = max(day_of(reach_us), spec.listed or day_of(reach_us))
    while day >= first_day and taken < limit:
        frame = sim.market.day_trades(spec.id, day).filter(keep & (time_us < now_us) & (time_us >= reach_us))
        parts.append(frame.tail(limit - taken).reverse())
        taken += parts[-1].height
        day -= timedelta(days=1)
    return pl.concat(parts) if parts else sim.market.day_trades(spec.id, day).head(0)


def _trade_rows(sim: SimState, spec: Instrument, page: pl.DataFrame) -> list:
    return wire.trade_columns(spec, page, _malformed_ids(sim, spec, page)).to_dicts()


def _malformed_ids(sim: SimState, spec: Instrument, page: pl.DataFrame) -> frozenset[int]:
    """Trade ids of this page the `malformed` fault damages: the middle trade of each targeted day."""
    days = set(map(day_of, page["time"].dt.epoch("us").to_list()))
    found = (malformed_trade_id(sim, spec, day) for day in days if sim.faults.malformed.matches(spec.symbol, day))
    return frozenset(i for i in found if i is not None)


def malformed_trade_id(sim: SimState, spec: Instrument, day: date) -> int | None:
    """The trade id the `malformed` fault damages on `day` (its middle trade), in REST pages and in its file."""
    agg_id = malformed_agg_id(sim.market.day_agg_ids(spec.id, day))
    if agg_id is None:
        return None
    return int(sim.market.day_trades(spec.id, day).filter(pl.col("agg_id") == agg_id)["first_trade_id"][0])


# --- candles ----------------------------------------------------------------------------------------------------------


def _candles(sim: SimState, query: Query, path: str) -> list:
    spec = listed(sim, query)
    bar = query.text("bar") or "1m"
    if bar not in BARS:
        raise bad("bar")
    interval = SIMULATED_BARS.get(bar)
    if interval is None:
        raise ApiError(400, BAD_PARAMETER, f"Parameter bar error: {bar} is not simulated")
    step, limit = INTERVALS[interval], query.limit(path)
    end, start = _window(sim, query, step, limit)
    if path == CANDLES:
        start = max(start, (sim.clock.now_us() // step - (CANDLES_REACH_BARS - 1)) * step)
    klines = sim.market.klines(spec.id, interval, start, end, as_of_us=sim.clock.now_us())
    return wire.candle_rows(spec, klines.reverse().head(limit), sim.clock.now_us())


def _window(sim: SimState, query: Query, step: int, limit: int) -> tuple[int, int]:
    """(end, start) in µs of the rows a time-paged request may return: opening before `after` (exclusive) and now,
    after `before` (exclusive), at most `limit` steps back from the end."""
    after, before = query.number("after"), query.number("before")
    end = sim.clock.now_us() + 1 if after is None else min(after * US_PER_MS, sim.clock.now_us() + 1)
    last = (end - 1) // step * step
    start = last - (limit - 1) * step
    if before is not None:
        start = max(start, before * US_PER_MS + 1)
    return end, start


def _months_back(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day_of_month in range(day.day, 0, -1):
        try:
            return date(year, month, day_of_month)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


# --- routes -----------------------------------------------------------------------------------------------------------

ENDPOINTS: dict[str, Callable[[SimState, Query], list]] = {
    INSTRUMENTS: instruments,
    TIME: server_time,
    HISTORY_TRADES: history_trades,
    TRADES: trades,
    CANDLES: candles,
    HISTORY_CANDLES: history_candles,
    FUNDING_HISTORY: funding_history,
    BOOKS: books,
}


def envelope(data: list) -> dict:
    return {"code": OK, "msg": "", "data": data}


def routes(sim: SimState) -> list[Route]:
    def route(path: str, handler: Callable[[SimState, Query], list]) -> Route:
        def respond(request: Request) -> Response:
            if sim.faults.slow_ms:
                time.sleep(sim.faults.slow_ms / 1000)
            ip = request.client.host if request.client else "unknown"
            if not sim.okx_limiter.admit(ip, path) or sim.shares.hit("okx_rate429", sim.faults.rate429):
                error = ApiError(429, RATE_LIMITED, "Too Many Requests")
            elif sim.shares.hit("okx_error5xx", sim.faults.error5xx):
                error = INTERNAL_ERROR
            else:
                try:
                    response = JSONResponse(envelope(handler(sim, Query(request.query_params))))
                    sim.stats.record(path, 200)
                    return response
                except ApiError as raised:
                    error = raised
            sim.stats.record(path, error.status)
            return JSONResponse(error.body(), error.status)

        return Route(path, respond, methods=["GET"])

    return [route(path, handler) for path, handler in ENDPOINTS.items()]
