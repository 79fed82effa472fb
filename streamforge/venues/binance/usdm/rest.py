"""Binance USD-M futures REST market data (fapi): exchangeInfo, aggregate trades within their reach, trade, mark-
and index-price klines, funding history and intervals, open interest history, depth.

Only the base URL differs between the simulator and Binance (STREAMFORGE_USDM_REST_URL). Times are ms both ways.
Two reaches are the exchange's, not ours, and are asked about before any request: aggregate trades reach back
STREAMFORGE_USDM_AGGTRADES_REACH_H hours (48: the day must come from its dump file otherwise), open interest history
STREAMFORGE_USDM_OPEN_INTEREST_DAYS days. The request weights are fapi's (../shared/docs/binance-futures.md): klines
weigh by their limit, openInterestHist nothing (it has a request limit of its own that a day's few pages stay far
under).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl

from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, MalformedDataError, NotAvailableError, UnknownSymbolError
from streamforge.venues.binance.http import TRADING, BinanceHttp
from streamforge.live.feed import Snapshot
from streamforge.venues.binance import parse as spot_parse
from streamforge.venues.binance.limiter import WeightLimiter
from streamforge.venues.binance.usdm import USDM, parse

PERPETUAL = "PERPETUAL"
KLINE_PATHS = {"klines": "/fapi/v1/klines", "mark": "/fapi/v1/markPriceKlines", "index": "/fapi/v1/indexPriceKlines"}
FUNDING_PAGE = 1000
OPEN_INTEREST_PAGE = 500
DEFAULT_FUNDING_HOURS = 8  # fundingInfo lists only the symbols whose funding parameters were adjusted
# Request weights (fapi docs, [SDK]/[KL] in ../shared/docs/binance-futures.md).
WEIGHTS = {
    "/fapi/v1/exchangeInfo": 1,
    "/fapi/v1/time": 1,
    "/fapi/v1/aggTrades": 20,
    "/fapi/v1/fundingRate": 1,
    "/fapi/v1/fundingInfo": 1,
    "/futures/data/openInterestHist": 0,
    "/fapi/v1/ticker/24hr": 40,  # every symbol's
    **{path: 5 for path in KLINE_PATHS.values()},  # limit 1000 is in [500, 1000]: weight 5
}
DEPTH_WEIGHTS = ((50, 2), (100, 5), (500, 10), (1000, 20))  # (most levels, weight)
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


class UsdmRest(BinanceHttp):
    """The USD-M futures REST client; thread-safe, with fapi's own weight limiter."""

    EXCHANGE_INFO, TIME, AGG_TRADES = "/fapi/v1/exchangeInfo", "/fapi/v1/time", "/fapi/v1/aggTrades"
    TICKER_24H = "/fapi/v1/ticker/24hr"
    WEIGHTS = WEIGHTS
    US_PER_UNIT = 1000  # ms

    def __init__(
        self,
        base_url: str | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        limiter: WeightLimiter | None = None,
    ) -> None:
        url = base_url or settings.get("STREAMFORGE_USDM_REST_URL")
        super().__init__(url, "STREAMFORGE_USDM_REST_URL", {}, timeout_s, retries, limiter)
        self.reach = timedelta(hours=settings.integer("STREAMFORGE_USDM_AGGTRADES_REACH_H"))
        self.open_interest_reach = timedelta(days=settings.integer("STREAMFORGE_USDM_OPEN_INTEREST_DAYS"))
        self._funding_hours: dict[str, int] | None = None

    def instrument(self, symbol: str) -> str:
        return USDM.instrument(symbol).id

    def parse_agg_trades(self, rows: object, symbol: str, source: str) -> pl.DataFrame:
        return parse.agg_trades_from_json(rows, self.instrument(symbol), source)

    # --- listing ------------------------------------------------------------------------------------------------

    def require_perpetual(self, symbol: str, trading: bool = True) -> dict:
        """The symbol's futures exchangeInfo entry; UnknownSymbolError naming it when fapi does not list it, when it
        is not a perpetual (a quarterly contract), or, with `trading`, when it does not trade."""
        spec = self.symbol_spec(symbol)
        instrument = self.instrument(symbol)
        if spec is None:
            raise UnknownSymbolError(
                f"{instrument}: {symbol} is not a Binance USD-M futures symbol (not in {self.base_url}"
                f"{self.EXCHANGE_INFO})"
            )
        if spec.get("contractType") != PERPETUAL:
            raise UnknownSymbolError(f"{instrument}: {symbol} is a {spec.get('contractType')} contract, not a perpetual")
        if trading and spec.get("status") != TRADING:
            raise UnknownSymbolError(f"{instrument}: {symbol} is not trading (status {spec.get('status')})")
        return spec

    def mark_band(self, symbol: str) -> tuple[float, float]:
        """(down, up) multipliers of the symbol's PERCENT_PRICE filter: the band around the mark price the exchange
        accepts prices in, which the mark-within-band check holds the index against."""
        spec = self.require_perpetual(symbol, trading=False)
        band = next((f for f in spec.get("filters", []) if f.get("filterType") == "PERCENT_PRICE"), None)
        try:
            return float(band["multiplierDown"]), float(band["multiplierUp"])
        except (TypeError, KeyError, ValueError):
            raise MalformedDataError(f"{self.instrument(symbol)}: exchangeInfo has no PERCENT_PRICE filter: {band}") from None

    def funding_hours(self, symbol: str) -> int:
        """The symbol's funding interval in hours: fundingInfo's, or 8 for a symbol it does not list."""
        if self._funding_hours is None:
            rows, source = self._get("/fapi/v1/fundingInfo", {})
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise MalformedDataError(f"{source}: expected a JSON array of objects: {str(rows)[:200]}")
            hours = {r.get("symbol"): r.get("fundingIntervalHours") for r in rows}
            bad = {s: h for s, h in hours.items() if type(h) is not int or h <= 0}
            if bad:
                raise MalformedDataError(f"{source}: fundingIntervalHours is not a positive integer: {str(bad)[:200]}")
            self._funding_hours = hours
        return self._funding_hours.get(symbol, DEFAULT_FUNDING_HOURS)

    # --- reaches ------------------------------------------------------------------------------------------------

    def reaches_trades(self, day: date) -> tuple[bool, datetime]:
        """(whether REST aggTrades still hold all of the day, the earliest instant they reach)."""
        since = datetime.fromtimestamp(self.server_time_us() / 1e6, timezone.utc) - self.reach
        return day_bounds_us(day)[0] >= since.timestamp() * 1e6, since

    def open_interest_since(self) -> date:
        """The first whole day openInterestHist still serves."""
        now = datetime.fromtimestamp(self.server_time_us() / 1e6, timezone.utc)
        return (now - self.open_interest_reach).date() + timedelta(days=1)

    # --- endpoints ----------------------------------------------------------------------------------------------

    def klines(self, symbol: str, interval: str, start_us: int, end_us: int, kind: str = "klines") -> pl.DataFrame:
        """Klines with open time in [start_us, end_us): trade klines (KLINE), or `kind` "mark" / "index" price
        klines (PRICE_KLINE; the index is asked for by pair, which a perpetual's symbol is)."""
        instrument = self.instrument(symbol)
        if kind == "klines":
            parse_page = lambda rows, source: parse.klines_from_json(rows, instrument, interval, source)  # noqa: E731
        else:
            parse_page = lambda rows, source: parse.price_klines_from_json(rows, instrument, interval, source)  # noqa: E731
        key = "pair" if kind == "index" else "symbol"
        return self.pages(KLINE_PATHS[kind], {key: symbol, "interval": interval}, parse_page, start_us, end_us)

    def funding_rates(self, symbol: str, start_us: int, end_us: int) -> pl.DataFrame:
        """Funding settlements in [start_us, end_us), with the mark price at each (FUNDING_RATE)."""
        hours, instrument = self.funding_hours(symbol), self.instrument(symbol)
        return self.pages(
            "/fapi/v1/fundingRate",
            {"symbol": symbol},
            lambda rows, source: parse.funding_from_json(rows, instrument, hours, source),
            start_us,
            end_us,
            time_column="funding_time",
            page=FUNDING_PAGE,
        )

    def open_interest(self, symbol: str, day: date) -> pl.DataFrame:
        """The day's 5-minute open interest (OPEN_INTEREST); NotAvailableError for a day before the exchange's
        reach (it serves the latest month only)."""
        since = self.open_interest_since()
        if day < since:
            raise NotAvailableError(
                f"open interest of {self.instrument(symbol)} is not available before {since}: Binance serves "
                f"/futures/data/openInterestHist for the latest {self.open_interest_reach.days} days only "
                f"(asked for {day})"
            )
        instrument = self.instrument(symbol)
        return self.pages(
            "/futures/data/openInterestHist",
            {"symbol": symbol, "period": "5m"},
            lambda rows, source: parse.open_interest_from_json(rows, instrument, source),
            *day_bounds_us(day),
            time_column="time",
            page=OPEN_INTEREST_PAGE,
        )

    def depth(self, symbol: str, limit: int = 1000) -> Snapshot:
        """The order book's top `limit` levels per side (`{"lastUpdateId", "E", "T", "bids", "asks"}` on the wire;
        at most 1,000 levels, spot's 5,000 are not served)."""
        if limit not in DEPTH_LIMITS:
            raise ConfigError(f"futures depth limit {limit} is not one of {', '.join(map(str, DEPTH_LIMITS))}")
        weight = next(w for most, w in DEPTH_WEIGHTS if limit <= most)
        book, source = self._get("/fapi/v1/depth", {"symbol": symbol, "limit": limit}, weight)
        return spot_parse.depth_snapshot(book, source)



