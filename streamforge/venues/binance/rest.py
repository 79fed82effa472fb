"""Binance spot REST market data: exchange info, a whole day of aggregate trades, klines, depth.

One code path for the simulator and Binance: only the base URL differs (STREAMFORGE_REST_URL). Every request asks for
µs timestamps (header `X-MBX-TIME-UNIT: MICROSECOND`; it also makes `startTime`/`endTime` µs). The weight limiter,
Retry-After, retries, deadlines, error bodies and the walk through a day of aggregate trades are every Binance API's
(`http`).
"""

from __future__ import annotations

import polars as pl

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.live.feed import Snapshot
from streamforge.venues.binance import SPOT, parse
from streamforge.venues.binance.http import PAGE, TRADING, BinanceHttp
from streamforge.venues.binance.limiter import WeightLimiter

__all__ = ["PAGE", "TRADING", "WEIGHTS", "BinanceRest"]

# Request weight per endpoint (Binance spot docs); depth's weight grows with the number of levels asked for.
# The 24-hour ticker of every symbol weighs 80.
WEIGHTS = {"/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/aggTrades": 4, "/api/v3/klines": 2, "/api/v3/ticker/24hr": 80}
DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))  # (most levels, weight)


class BinanceRest(BinanceHttp):
    """The spot REST client; thread-safe, one weight limiter shared by all its threads."""

    EXCHANGE_INFO, TIME, AGG_TRADES = "/api/v3/exchangeInfo", "/api/v3/time", "/api/v3/aggTrades"
    TICKER_24H, TICKER_PARAMS = "/api/v3/ticker/24hr", {"type": "MINI"}  # MINI: the same count, without the book
    WEIGHTS = WEIGHTS
    US_PER_UNIT = 1  # µs, asked for with X-MBX-TIME-UNIT

    def __init__(
        self,
        base_url: str | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        limiter: WeightLimiter | None = None,
    ) -> None:
        super().__init__(
            base_url or settings.get("STREAMFORGE_REST_URL"),
            "STREAMFORGE_REST_URL",
            {"X-MBX-TIME-UNIT": "MICROSECOND"},
            timeout_s,
            retries,
            limiter,
        )

    def instrument(self, symbol: str) -> str:
        """The instrument id of a symbol of this market: what the records this client parses are keyed by."""
        return SPOT.instrument(symbol).id

    def parse_agg_trades(self, rows: object, symbol: str, source: str) -> pl.DataFrame:
        return parse.agg_trades_from_json(rows, self.instrument(symbol), source)

    def klines(self, symbol: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        """The exchange's klines with open time in [start_us, end_us)."""
        return self.pages(
            "/api/v3/klines",
            {"symbol": symbol, "interval": interval},
            lambda rows, source: parse.klines_from_json(rows, self.instrument(symbol), interval, source),
            start_us,
            end_us,
        )

    def depth(self, symbol: str, limit: int = 100) -> Snapshot:
        """The order book's top `limit` levels per side (`{"lastUpdateId": N, "bids": [[price, qty], ...], "asks":
        [...]}` on the wire), checked like any other answer."""
        weight = next((w for most, w in DEPTH_WEIGHTS if limit <= most), None)
        if weight is None or limit < 1:
            raise ConfigError(f"depth limit {limit} is outside 1..{DEPTH_WEIGHTS[-1][0]}")
        book, source = self._get("/api/v3/depth", {"symbol": symbol, "limit": limit}, weight)
        return parse.depth_snapshot(book, source)
