"""The REST market-data endpoints (`/api/v3/...`): parse the parameters, ask the market, answer in Binance's format.

Each endpoint is a pure handler plus its weight and accepted parameters (the `ENDPOINTS` table); rate limiting,
faults, headers and counters are applied around every one of them by `server`. Handlers see the market as of the
simulator's clock: trades and klines after "now" do not exist yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from streamforge.venues.binance.simulator import wire
from streamforge.sim.calendar import US_PER_S, day_of
from streamforge.sim.faults import malformed_agg_id
from streamforge.sim.instruments import BINANCE_SPOT, Instrument
from streamforge.sim.klines import INTERVALS
from streamforge.venues.binance.simulator.ratelimit import RAW_REQUESTS_LIMIT, RAW_REQUESTS_WINDOW_S, rate_limit_interval
from streamforge.sim.state import SimState
from streamforge.venues.binance.simulator.wire import Params

HOUR_US = 3_600 * US_PER_S
DAY_US = 24 * HOUR_US


def ping(sim: SimState, params: Params, unit_us: int) -> dict:
    return {}


def server_time(sim: SimState, params: Params, unit_us: int) -> dict:
    return {"serverTime": sim.clock.now_us() // unit_us}


def exchange_info(sim: SimState, params: Params, unit_us: int) -> dict:
    one, many, status = params.text("symbol"), params.text("symbols"), params.text("symbolStatus")
    if one and many:
        raise wire.bad_combination()
    now_us = sim.clock.now_us()
    today = day_of(now_us)  # statuses as of the serverTime answered
    listed = sim.market.listed(BINANCE_SPOT, today)
    names = list(listed)
    if one:
        names = [listed_symbol(sim, params)]
    elif many:
        try:
            names = json.loads(many)
        except json.JSONDecodeError:
            raise wire.invalid_value("symbols") from None
        if not isinstance(names, list) or not names or any(n not in listed for n in names):
            raise wire.invalid_symbol()
    statuses = {n: listed[n].status_on(today) for n in names}
    interval, count = rate_limit_interval(sim.config.weight_window_s)
    return {
        "timezone": "UTC",
        "serverTime": now_us // unit_us,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": interval, "intervalNum": count, "limit": sim.config.weight_limit},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": RAW_REQUESTS_WINDOW_S // 60, "limit": RAW_REQUESTS_LIMIT},
        ],
        "exchangeFilters": [],
        "symbols": [wire.symbol_info(listed[n], s) for n, s in statuses.items() if status is None or s == status],
    }


def agg_trades(sim: SimState, params: Params, unit_us: int) -> list:
    symbol = listed_symbol(sim, params)
    limit = params.limit(default=500, maximum=1000)
    from_id, start, end = params.long("fromId"), params.long("startTime"), params.long("endTime")
    until_us = sim.clock.now_us() + 1
    market = sim.market
    if from_id is not None:
        if start is not None or end is not None:
            raise wire.bad_combination()
        trades = market.agg_trades_from_id(symbol, from_id, until_us, limit)
    elif start is None and end is None:
        trades = market.last_agg_trades(symbol, until_us, limit)
    else:
        start_us = None if start is None else start * unit_us
        end_us = None if end is None else (end + 1) * unit_us  # endTime is inclusive
        if start_us is not None and end_us is not None and (end - start) * unit_us > HOUR_US:
            raise wire.lookup_too_big(hours=1)
        start_us = end_us - HOUR_US if start_us is None else start_us
        end_us = start_us + HOUR_US if end_us is None else end_us
        trades = market.agg_trades(symbol, start_us, min(end_us, until_us), limit)
    return wire.agg_trade_rows(trades, unit_us, malformed_ids(sim, symbol, trades))


def malformed_ids(sim: SimState, symbol: str, trades: pl.DataFrame) -> frozenset[int]:
    """The agg ids in this page that the `malformed` fault damages."""
    if trades.is_empty():
        return frozenset()
    times = trades["time"].dt.epoch("us")
    days = {day_of(times[0]), day_of(times[-1])}
    ids = {malformed_agg_id(sim.market.day_agg_ids(symbol, d)) for d in days if sim.faults.malformed.matches(symbol, d)}
    return frozenset(i for i in ids if i is not None)


def klines(sim: SimState, params: Params, unit_us: int) -> list:
    symbol = listed_symbol(sim, params)
    interval = params.text("interval", required=True)
    if interval not in INTERVALS:
        raise wire.invalid_interval()
    limit = params.limit(default=500, maximum=1000)
    start, end = params.long("startTime"), params.long("endTime")
    step, now_us = INTERVALS[interval], sim.clock.now_us()
    end_us = now_us + 1 if end is None else (end + 1) * unit_us  # exclusive bound on open time
    if start is None:
        last_open = (min(end_us, now_us + 1) - 1) // step * step
        start_us = last_open - (limit - 1) * step
    else:
        start_us = start * unit_us
    rows = sim.market.klines(symbol, interval, start_us, min(end_us, start_us + limit * step), as_of_us=now_us)
    return wire.kline_rows(rows.head(limit), unit_us)


def depth(sim: SimState, params: Params, unit_us: int) -> dict:
    symbol = listed_symbol(sim, params)
    book = sim.market.depth(symbol, sim.clock.now_us(), params.limit(default=100, maximum=5000))
    return {
        "lastUpdateId": book.last_update_id,
        "bids": [[wire.decimal(p), wire.decimal(q)] for p, q in book.bids],
        "asks": [[wire.decimal(p), wire.decimal(q)] for p, q in book.asks],
    }


FULL_TICKER = (
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastPrice", "lastQty",
    "bidPrice", "bidQty", "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume",
    "openTime", "closeTime", "firstId", "lastId", "count",
)


def ticker_24h(sim: SimState, params: Params, unit_us: int) -> dict | list:
    """The rolling 24 hours up to the simulator's clock, of one symbol (an object) or of several or all (a list);
    `type` MINI or FULL (the default), FULL adding the change, the last close before the window and the book's top."""
    one, many, kind = params.text("symbol"), params.text("symbols"), params.text("type") or "FULL"
    if one and many:
        raise wire.bad_combination()
    if kind not in ("FULL", "MINI"):
        raise wire.invalid_value("type")
    close_us = sim.clock.now_us() // unit_us * unit_us  # the window's ends as the answer states them
    listed = sim.market.listed(BINANCE_SPOT, day_of(close_us))
    names = [listed_symbol(sim, params)] if one else _symbols(many, listed) if many else list(listed)
    tickers = [_ticker(sim, listed[n], close_us, unit_us, kind == "FULL") for n in names]
    return tickers[0] if one else tickers


def _symbols(text: str, listed: Mapping[str, object]) -> list[str]:
    try:
        names = json.loads(text)
    except json.JSONDecodeError:
        raise wire.invalid_value("symbols") from None
    if not isinstance(names, list) or not names or any(n not in listed for n in names):
        raise wire.invalid_symbol()
    return names


def _ticker(sim: SimState, spec: Instrument, close_us: int, unit_us: int, full: bool) -> dict:
    open_us = close_us - DAY_US
    trades = sim.market.agg_trades(spec.id, open_us, close_us + 1)
    mini = wire.ticker_24h(spec.symbol, trades, open_us, close_us, unit_us)
    if not full:
        return mini
    before = sim.market.close_before(spec.id, open_us) if trades.height else None
    book = sim.market.depth(spec.id, close_us, 1)
    (bid, bid_qty), (ask, ask_qty) = (book.bids or [(0.0, 0.0)])[0], (book.asks or [(0.0, 0.0)])[0]
    top = {"bidPrice": bid, "bidQty": bid_qty, "askPrice": ask, "askQty": ask_qty, "prevClosePrice": before or 0.0}
    fields = mini | wire.ticker_changes(mini, trades) | {k: wire.decimal(v) for k, v in top.items()}
    return {name: fields[name] for name in FULL_TICKER}


def ticker_weight(query: Mapping[str, str]) -> int:
    """2 for one symbol; by the number of `symbols`: 2 up to 20, 40 up to 100, 80 beyond; 80 for every symbol."""
    if "symbol" in query:
        return 2
    if "symbols" not in query:
        return 80
    try:
        asked = len(json.loads(query["symbols"]))
    except (TypeError, ValueError):
        asked = 1
    return 2 if asked <= 20 else 40 if asked <= 100 else 80


def depth_weight(query: Mapping[str, str]) -> int:
    """5 up to 100 levels, 25 up to 500, 50 up to 1000, 250 beyond (Binance's table)."""
    limit = query.get("limit", "100")
    levels = int(limit) if limit.isdigit() else 100
    for top, weight in ((100, 5), (500, 25), (1000, 50)):
        if levels <= top:
            return weight
    return 250


def listed_symbol(sim: SimState, params: Params) -> str:
    """The request's symbol, if Binance spot lists it on the simulator's day (before its listing it is unknown)."""
    symbol = params.symbol()
    if symbol not in sim.market.listed(BINANCE_SPOT, sim.clock.today()):
        raise wire.invalid_symbol()
    return symbol


@dataclass(frozen=True)
class Endpoint:
    handler: Callable[[SimState, Params, int], object]
    weight: Callable[[Mapping[str, str]], int]
    params: frozenset[str]


def _fixed(weight: int) -> Callable[[Mapping[str, str]], int]:
    return lambda query: weight


ENDPOINTS: dict[str, Endpoint] = {
    "/api/v3/ping": Endpoint(ping, _fixed(1), frozenset()),
    "/api/v3/time": Endpoint(server_time, _fixed(1), frozenset()),
    "/api/v3/exchangeInfo": Endpoint(
        exchange_info, _fixed(20), frozenset({"symbol", "symbols", "symbolStatus", "permissions", "showPermissionSets"})
    ),
    "/api/v3/aggTrades": Endpoint(agg_trades, _fixed(4), frozenset({"symbol", "fromId", "startTime", "endTime", "limit"})),
    "/api/v3/klines": Endpoint(klines, _fixed(2), frozenset({"symbol", "interval", "startTime", "endTime", "limit"})),
    "/api/v3/depth": Endpoint(depth, depth_weight, frozenset({"symbol", "limit"})),
    "/api/v3/ticker/24hr": Endpoint(ticker_24h, ticker_weight, frozenset({"symbol", "symbols", "type"})),
}
