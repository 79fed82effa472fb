"""The USD-M futures REST endpoints (`/fapi/v1/...`, `/futures/data/...`) in fapi's format, from the simulator's market.

What differs from spot (../shared/docs/binance-futures.md): times are ms and there is no time-unit header; a
symbol's exchangeInfo entry says its contractType and carries a PERCENT_PRICE filter; aggTrades rows have no `M` and
reach back only `AGG_TRADES_REACH` (older rows are not served: what the real API answers for them is not documented,
so the simulator answers as if they did not exist); klines take up to 1,500 rows and weigh by their limit; index
price klines are asked for by `pair`; funding history, fundingInfo (only the symbols whose interval is not 8 hours),
openInterestHist (the latest 30 days only), the depth snapshot with its `E`/`T` times and the 24-hour ticker
(without spot's `type`, book or previous close). Weights, faults and the rate limit are applied around every handler
by `server`, with fapi's own limiter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta

import numpy as np
import polars as pl

from streamforge.sim.calendar import US_PER_MS, US_PER_S, day_of
from streamforge.sim.instruments import TRADING, Instrument, decimals
from streamforge.sim.klines import INTERVALS
from streamforge.sim.state import SimState
from streamforge.venues.binance.simulator import usdm_ws, wire
from streamforge.venues.binance.simulator.rest import HOUR_US, Endpoint, _fixed, malformed_ids
from streamforge.venues.binance.simulator.wire import Params

USDM = "binance.usdm"
AGG_TRADES_REACH = timedelta(hours=48)
OPEN_INTEREST_REACH = timedelta(days=30)
OPEN_INTEREST_PERIODS = {"5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400, "6h": 21600,
                         "12h": 43200, "1d": 86400}
PERCENT_PRICE = ("1.0500", "0.9500")  # multiplierUp, multiplierDown: Binance's usual ±5 %
FAR_FUTURE_MS = 4_133_404_800_000  # a perpetual's deliveryDate (2100-12-25)
FUTURES_STATUS = {TRADING: "TRADING", "BREAK": "CLOSE"}


def server_time(sim: SimState, params: Params, unit_us: int) -> dict:
    return {"serverTime": sim.clock.now_us() // US_PER_MS}


def exchange_info(sim: SimState, params: Params, unit_us: int) -> dict:
    now_us = sim.clock.now_us()
    today = day_of(now_us)
    listed = sim.market.listed(USDM, today)
    return {
        "timezone": "UTC",
        "serverTime": now_us // US_PER_MS,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": sim.config.futures_weight_limit},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [],
        "symbols": [symbol_info(spec, spec.status_on(today)) for spec in listed.values()],
    }


def symbol_info(spec: Instrument, status: str) -> dict[str, object]:
    """A perpetual's fapi exchangeInfo entry (the fields market-data clients read, in Binance's shape)."""
    listed_ms = 0 if spec.listed is None else int(np.datetime64(spec.listed, "ms").astype(np.int64))
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": FAR_FUTURE_MS,
        "onboardDate": listed_ms,
        "status": FUTURES_STATUS[status],
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
        "marginAsset": spec.quote_asset,
        "pricePrecision": decimals(spec.tick_size),
        "quantityPrecision": decimals(spec.step_size),
        "underlyingType": "COIN",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": wire.decimal(spec.tick_size), "maxPrice": "4529764",
             "tickSize": wire.decimal(spec.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": wire.decimal(spec.step_size), "maxQty": f"{max_qty(spec):.0f}",
             "stepSize": wire.decimal(spec.step_size)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": PERCENT_PRICE[0], "multiplierDown": PERCENT_PRICE[1],
             "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
    }


def max_qty(spec: Instrument) -> float:
    """LOT_SIZE's maxQty: about 100,000 typical fills as a power of ten, at least 1,000 (fapi's BTCUSDT 1000, ETHUSDT
    10000, 1000PEPEUSDT 800000000: a contract of a cheap asset is ordered in far larger quantities)."""
    return max(1_000.0, 10.0 ** round(math.log10(spec.median_qty)) * 100_000)


def agg_trades(sim: SimState, params: Params, unit_us: int) -> list:
    key = listed_key(sim, params)
    limit = params.limit(default=500, maximum=1000)
    from_id, start, end = params.long("fromId"), params.long("startTime"), params.long("endTime")
    now_us = sim.clock.now_us()
    reach_us = now_us - int(AGG_TRADES_REACH.total_seconds()) * US_PER_S
    market = sim.market
    if from_id is not None:
        if start is not None or end is not None:
            raise wire.bad_combination()
        trades = market.agg_trades_from_id(key, from_id, now_us + 1, limit)
    elif start is None and end is None:
        trades = market.last_agg_trades(key, now_us + 1, limit)
    else:
        start_us = None if start is None else start * US_PER_MS
        end_us = None if end is None else (end + 1) * US_PER_MS  # endTime is inclusive
        if start_us is not None and end_us is not None and end_us - start_us > HOUR_US:
            raise wire.lookup_too_big(hours=1)
        start_us = end_us - HOUR_US if start_us is None else start_us
        end_us = start_us + HOUR_US if end_us is None else end_us
        trades = market.agg_trades(key, max(start_us, reach_us), min(end_us, now_us + 1), limit)
    trades = trades.filter(pl.col("time").dt.epoch("us") >= reach_us)
    rows = wire.agg_trade_rows(trades, US_PER_MS, malformed_ids(sim, key, trades))
    for row in rows:
        del row["M"]
    return rows


def klines(sim: SimState, params: Params, unit_us: int, kind: str = "klines") -> list:
    key = listed_key(sim, params, "pair" if kind == "index" else "symbol")
    interval = params.text("interval", required=True)
    if interval not in INTERVALS:
        raise wire.invalid_interval()
    limit = params.limit(default=500, maximum=1500)
    start, end = params.long("startTime"), params.long("endTime")
    step, now_us = INTERVALS[interval], sim.clock.now_us()
    end_us = now_us + 1 if end is None else (end + 1) * US_PER_MS
    if start is None:
        start_us = (min(end_us, now_us + 1) - 1) // step * step - (limit - 1) * step
    else:
        start_us = start * US_PER_MS
    stop_us = min(end_us, start_us + limit * step, now_us + 1)
    if kind == "klines":
        return wire.kline_rows(sim.market.klines(key, interval, start_us, stop_us, as_of_us=now_us).head(limit), US_PER_MS)
    rows = sim.market.price_klines(key, kind, interval, start_us, stop_us).head(limit)
    return price_kline_rows(rows)


def price_kline_rows(klines: pl.DataFrame) -> list[list]:
    """Mark/index klines keep the 12 slots of a kline, the volume slots "0" and the trade count 0."""
    columns = klines.select(pl.col("open_time").dt.epoch("ms"), "open", "high", "low", "close",
                            pl.col("close_time").dt.epoch("ms"))
    return [
        [t, wire.decimal(o), wire.decimal(h), wire.decimal(low), wire.decimal(c), "0", close, "0", 0, "0", "0", "0"]
        for t, o, h, low, c, close in columns.iter_rows()
    ]


def funding_rate(sim: SimState, params: Params, unit_us: int) -> list:
    key = listed_key(sim, params)
    limit = params.limit(default=100, maximum=1000)
    start, end = params.long("startTime"), params.long("endTime")
    now_us = sim.clock.now_us()
    end_us = min(now_us + 1, now_us + 1 if end is None else (end + 1) * US_PER_MS)
    if start is None:  # the most recent rows
        hours = sim.market.spec(key).funding_hours
        start_us = end_us - limit * hours * HOUR_US
        rates = sim.market.funding_rates(key, max(start_us, 0), end_us).tail(limit)
    else:
        rates = sim.market.funding_rates(key, start * US_PER_MS, end_us).head(limit)
    symbol = sim.market.spec(key).symbol
    return [
        {"symbol": symbol, "fundingRate": wire.decimal(rate), "fundingTime": t, "markPrice": wire.decimal(mark)}
        for t, rate, mark in rates.select(pl.col("funding_time").dt.epoch("ms"), "funding_rate", "mark_price").iter_rows()
    ]


def funding_info(sim: SimState, params: Params, unit_us: int) -> list:
    listed = sim.market.listed(USDM, sim.clock.today())
    return [
        {"symbol": s, "adjustedFundingRateCap": "0.02000000", "adjustedFundingRateFloor": "-0.02000000",
         "fundingIntervalHours": spec.funding_hours, "disclaimer": False}
        for s, spec in listed.items()
        if spec.funding_hours != 8
    ]


def premium_index(sim: SimState, params: Params, unit_us: int) -> dict:
    key = listed_key(sim, params)
    now_us = sim.clock.now_us()
    hours = sim.market.spec(key).funding_hours
    at = np.array([now_us], dtype=np.int64)
    last = sim.market.funding_rates(key, now_us - hours * HOUR_US, now_us + 1)
    step = hours * HOUR_US
    return {
        "symbol": sim.market.spec(key).symbol,
        "markPrice": wire.decimal(float(sim.market.mark_prices(key, at)[0])),
        "indexPrice": wire.decimal(float(sim.market.index_prices(key, at)[0])),
        "estimatedSettlePrice": wire.decimal(float(sim.market.index_prices(key, at)[0])),
        "lastFundingRate": wire.decimal(float(last["funding_rate"][-1]) if last.height else 0.0),
        "interestRate": "0.00010000",
        "nextFundingTime": (now_us // step + 1) * step // US_PER_MS,
        "time": now_us // US_PER_MS,
    }


def open_interest(sim: SimState, params: Params, unit_us: int) -> dict:
    key = listed_key(sim, params)
    now_us = sim.clock.now_us()
    value = float(sim.market.open_interest(key, np.array([now_us]))[0])
    return {"openInterest": _qty(sim, key, value), "symbol": sim.market.spec(key).symbol, "time": now_us // US_PER_MS}


def open_interest_hist(sim: SimState, params: Params, unit_us: int) -> list:
    key = listed_key(sim, params)
    period = params.text("period", required=True)
    if period not in OPEN_INTEREST_PERIODS:
        raise wire.invalid_value("period")
    limit = params.limit(default=30, maximum=500)
    step = OPEN_INTEREST_PERIODS[period] * US_PER_S
    now_us = sim.clock.now_us()
    oldest = now_us - int(OPEN_INTEREST_REACH.total_seconds()) * US_PER_S
    start, end = params.long("startTime"), params.long("endTime")
    last = min(now_us, now_us if end is None else end * US_PER_MS) // step * step
    first = last - (limit - 1) * step if start is None else -(-start * US_PER_MS // step) * step
    times = np.arange(max(first, -(-oldest // step) * step), last + 1, step, dtype=np.int64)[:limit]
    oi = sim.market.open_interest(key, times)
    price = sim.market.mid_prices(key, times)
    symbol = sim.market.spec(key).symbol
    return [
        {"symbol": symbol, "sumOpenInterest": _qty(sim, key, q), "sumOpenInterestValue": wire.decimal(q * p),
         "timestamp": int(t) // US_PER_MS}
        for t, q, p in zip(times.tolist(), oi.tolist(), price.tolist())
    ]


def depth(sim: SimState, params: Params, unit_us: int) -> dict:
    key = listed_key(sim, params)
    limit = params.long("limit") or 500
    if limit not in DEPTH_LIMITS:
        raise wire.invalid_value("limit")
    now_us = sim.clock.now_us()
    book = sim.market.depth(key, now_us, limit)
    return {
        "lastUpdateId": usdm_ws.snapshot_id(book.last_update_id),
        "E": now_us // US_PER_MS,
        "T": now_us // US_PER_MS,
        "bids": [[wire.decimal(p), wire.decimal(q)] for p, q in book.bids],
        "asks": [[wire.decimal(p), wire.decimal(q)] for p, q in book.asks],
    }


DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def depth_weight(query: Mapping[str, str]) -> int:
    """2 up to 50 levels, 5 at 100, 10 at 500, 20 at 1000 (fapi's table)."""
    limit = query.get("limit", "500")
    levels = int(limit) if limit.isdigit() else 500
    return next((w for top, w in ((50, 2), (100, 5), (500, 10)) if levels <= top), 20)


def kline_weight(query: Mapping[str, str]) -> int:
    """1 below 100 rows, 2 below 500, 5 up to 1000, 10 beyond (fapi's table); the default limit is 500."""
    limit = query.get("limit", "500")
    rows = int(limit) if limit.isdigit() else 500
    return next((w for below, w in ((100, 1), (500, 2), (1001, 5)) if rows < below), 10)


def listed_key(sim: SimState, params: Params, name: str = "symbol") -> str:
    """The instrument id of the request's symbol if fapi lists it on the simulator's day (else "Invalid symbol.")."""
    symbol = params.symbol(name)
    if symbol not in sim.market.listed(USDM, sim.clock.today()):
        raise wire.invalid_symbol()
    return f"{USDM}.{symbol}"


TICKER = (
    "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "lastPrice", "lastQty", "openPrice", "highPrice",
    "lowPrice", "volume", "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count",
)


def ticker_24h(sim: SimState, params: Params, unit_us: int) -> dict | list:
    """The rolling 24 hours up to the simulator's clock, of one symbol (an object) or of every one (a list)."""
    close_us = sim.clock.now_us() // US_PER_MS * US_PER_MS  # the window's ends as the answer states them
    open_us = close_us - 24 * HOUR_US
    keys = [listed_key(sim, params)] if params.text("symbol") else [
        f"{USDM}.{symbol}" for symbol in sim.market.listed(USDM, day_of(close_us))
    ]
    tickers = []
    for key in keys:
        trades = sim.market.agg_trades(key, open_us, close_us + 1)
        mini = wire.ticker_24h(sim.market.spec(key).symbol, trades, open_us, close_us, US_PER_MS)
        fields = mini | wire.ticker_changes(mini, trades)
        tickers.append({name: fields[name] for name in TICKER})
    return tickers[0] if params.text("symbol") else tickers


def _qty(sim: SimState, key: str, value: float) -> str:
    return f"{value:.{decimals(sim.market.spec(key).step_size)}f}"


_KLINE_PARAMS = frozenset({"interval", "startTime", "endTime", "limit"})
ENDPOINTS: dict[str, Endpoint] = {
    "/fapi/v1/ping": Endpoint(lambda sim, params, unit: {}, _fixed(1), frozenset()),
    "/fapi/v1/time": Endpoint(server_time, _fixed(1), frozenset()),
    "/fapi/v1/exchangeInfo": Endpoint(exchange_info, _fixed(1), frozenset()),
    "/fapi/v1/aggTrades": Endpoint(agg_trades, _fixed(20), frozenset({"symbol", "fromId", "startTime", "endTime", "limit"})),
    "/fapi/v1/klines": Endpoint(klines, kline_weight, _KLINE_PARAMS | {"symbol"}),
    "/fapi/v1/markPriceKlines": Endpoint(
        lambda sim, params, unit: klines(sim, params, unit, "mark"), kline_weight, _KLINE_PARAMS | {"symbol"}
    ),
    "/fapi/v1/indexPriceKlines": Endpoint(
        lambda sim, params, unit: klines(sim, params, unit, "index"), kline_weight, _KLINE_PARAMS | {"pair"}
    ),
    "/fapi/v1/fundingRate": Endpoint(funding_rate, _fixed(1), frozenset({"symbol", "startTime", "endTime", "limit"})),
    "/fapi/v1/fundingInfo": Endpoint(funding_info, _fixed(1), frozenset()),
    "/fapi/v1/premiumIndex": Endpoint(premium_index, _fixed(1), frozenset({"symbol"})),
    "/fapi/v1/openInterest": Endpoint(open_interest, _fixed(1), frozenset({"symbol"})),
    "/futures/data/openInterestHist": Endpoint(
        open_interest_hist, _fixed(0), frozenset({"symbol", "period", "limit", "startTime", "endTime"})
    ),
    "/fapi/v1/depth": Endpoint(depth, depth_weight, frozenset({"symbol", "limit"})),
    "/fapi/v1/ticker/24hr": Endpoint(ticker_24h, lambda query: 1 if "symbol" in query else 40, frozenset({"symbol"})),
}
