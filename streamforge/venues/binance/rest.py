"""Binance spot REST market data: exchange info, a whole day of aggregate trades, klines, depth.

One code path for the simulator and Binance: only the base URL differs (STREAMFORGE_REST_URL). Every request asks for
µs timestamps (header `X-MBX-TIME-UNIT: MICROSECOND`; it also makes `startTime`/`endTime` µs), passes through the
shared weight limiter, and is retried the way Binance asks: after a 429/418 nobody sends before `Retry-After` has
passed (sending anyway is what turns a 429 into a 418 IP ban); 5xx answers, timeouts and connection errors are retried
with backoff. Every request has an overall deadline and its answer a byte limit (`bounded`). Binance error bodies
(`{"code": -1121, "msg": "Invalid symbol."}`) become specific errors.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import httpx
import polars as pl

from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.errors import SHOWN_CHARS, ConfigError, ExchangeError, MalformedDataError, UnknownSymbolError
from streamforge.live.feed import Snapshot
from streamforge.venues.binance import SPOT, parse
from streamforge.venues.binance.limiter import WeightLimiter
from streamforge.venues.bounded import ACCEPT_GZIP, Answer, Limits, bounded, transport
from streamforge.venues.retry import Backoff
from streamforge.schemas import AGG_TRADE, KLINE

PAGE = 1000  # most rows Binance returns per aggTrades or klines request
HOUR_US = 3_600_000_000

# Request weight per endpoint (Binance spot docs); depth's weight grows with the number of levels asked for.
WEIGHTS = {"/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/aggTrades": 4, "/api/v3/klines": 2}
DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))  # (most levels, weight)

UNKNOWN_SYMBOL = -1121  # Binance error code "Invalid symbol."
TRADING = "TRADING"  # exchangeInfo status of a symbol that trades; BREAK is a halted or delisted one


class BinanceRest:
    """A REST client for one exchange base URL; thread-safe, one weight limiter shared by all its threads."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        limiter: WeightLimiter | None = None,
    ) -> None:
        self.base_url = (base_url or settings.get("STREAMFORGE_REST_URL")).rstrip("/")
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        self.max_retry_after_s = float(settings.get("STREAMFORGE_HTTP_MAX_RETRY_AFTER_S"))
        self.limiter = limiter or WeightLimiter()
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S") if timeout_s is None else timeout_s)
        self.limits = Limits.rest()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"X-MBX-TIME-UNIT": "MICROSECOND", **ACCEPT_GZIP},
            transport=transport(),
        )

    def close(self) -> None:
        self._http.close()

    def instrument(self, symbol: str) -> str:
        """The instrument id of a symbol of this market: what the records this client parses are keyed by."""
        return SPOT.instrument(symbol).id

    def __enter__(self) -> BinanceRest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints ----------------------------------------------------------------------------------------------

    def exchange_info(self) -> dict:
        """The exchange's symbols and rate limits; also (re)configures the limiter from `rateLimits`."""
        response = self._request("/api/v3/exchangeInfo", {}, WEIGHTS["/api/v3/exchangeInfo"])
        info = _json(response)
        if not isinstance(info, dict) or not isinstance(info.get("rateLimits"), list):
            raise MalformedDataError(f"GET {response.url}: exchangeInfo without a rateLimits list")
        self.limiter.configure(info["rateLimits"])
        self.limiter.observe(response.headers)  # the first answer came before the limiter knew its windows
        return info

    def require_listed(self, symbol: str) -> dict:
        """The symbol's exchangeInfo entry, whatever its status; UnknownSymbolError when the exchange does not list it."""
        spec = next((s for s in self.exchange_info().get("symbols", []) if s.get("symbol") == symbol), None)
        if spec is None:
            raise UnknownSymbolError(f"{self.instrument(symbol)}: symbol {symbol} is not listed by the exchange")
        return spec

    def require_trading(self, symbol: str) -> dict:
        """The symbol's exchangeInfo entry; UnknownSymbolError when it is not listed or not trading."""
        spec = self.require_listed(symbol)
        if spec.get("status") != TRADING:
            raise UnknownSymbolError(f"{self.instrument(symbol)}: symbol {symbol} is not trading (status {spec.get('status')})")
        return spec

    def server_time_us(self) -> int:
        """The exchange's clock: it, not ours, decides which days are complete there."""
        body, source = self._get("/api/v3/time", {})
        if not isinstance(body, dict) or type(body.get("serverTime")) is not int:
            raise MalformedDataError(f"{source}: not a server time: {str(body)[:200]}")
        return body["serverTime"]

    def agg_trades_day(self, symbol: str, day: date) -> pl.DataFrame:
        """Exactly the aggregate trades of a completed UTC day [00:00, 24:00), contiguous in agg id."""
        start, end = self._completed_day(day)
        from_id = self._first_agg_id(symbol, start, end)
        pages: list[pl.DataFrame] = []
        while from_id is not None:
            rows, source = self._get("/api/v3/aggTrades", {"symbol": symbol, "fromId": from_id, "limit": PAGE})
            page = parse.agg_trades_from_json(rows, self.instrument(symbol), source)
            parse.check_sequence(page, source, from_id, pages[-1]["time"][-1] if pages else None)
            in_day = page.filter(pl.col("time") < pl.lit(end).cast(pl.Datetime("us", "UTC")))
            pages.append(in_day)
            # A full page entirely inside the day means there is more; otherwise the day (or the data) has ended.
            from_id = from_id + PAGE if in_day.height == PAGE else None
        return pl.concat(pages) if pages else AGG_TRADE.empty()

    def day_agg_ids(self, symbol: str, day: date) -> range:
        """The agg ids the exchange holds for a completed UTC day: from the day's first trade to the one before the
        next trade after the day (or to the latest trade, when none came after it). What a dump file of the day must
        hold, whatever the file says (a checksum-valid dump can end early: binance-public-data #354)."""
        start, end = self._completed_day(day)
        first = self._first_agg_id(symbol, start, end)
        if first is None:
            return range(0)
        rows, source = self._get("/api/v3/aggTrades", {"symbol": symbol, "limit": 1})  # the latest trade
        latest = parse.agg_trades_from_json(rows, self.instrument(symbol), source)
        if latest.is_empty():
            raise ExchangeError(f"{source}: no latest trade, though the day {day} has trades from agg id {first}")
        latest_us = int(latest["time"].dt.epoch("us")[0])
        if latest_us < end:
            return range(first, int(latest["agg_id"][0]) + 1)
        after = self._first_agg_id(symbol, end, latest_us + 1)
        if after is None:
            raise ExchangeError(f"{source}: the latest trade came after {day}, yet no trade after the day was found")
        return range(first, after)

    def agg_trade(self, symbol: str, agg_id: int) -> pl.DataFrame:
        """The one aggregate trade with this id (an empty frame when the exchange has none)."""
        rows, source = self._get("/api/v3/aggTrades", {"symbol": symbol, "fromId": agg_id, "limit": 1})
        return parse.agg_trades_from_json(rows, self.instrument(symbol), source).filter(pl.col("agg_id") == agg_id)

    def agg_trades_between(self, symbol: str, first_id: int, last_id: int) -> pl.DataFrame:
        """The aggregate trades with ids first_id..last_id, contiguous (the live loader's gap repair)."""
        pages: list[pl.DataFrame] = []
        from_id = first_id
        while from_id <= last_id:
            limit = min(PAGE, last_id - from_id + 1)
            rows, source = self._get("/api/v3/aggTrades", {"symbol": symbol, "fromId": from_id, "limit": limit})
            page = parse.agg_trades_from_json(rows, self.instrument(symbol), source)
            parse.check_sequence(page, source, from_id)
            if page.is_empty():
                break
            pages.append(page)
            from_id += page.height
        return pl.concat(pages) if pages else AGG_TRADE.empty()

    def klines(self, symbol: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        """The exchange's klines with open time in [start_us, end_us)."""
        pages: list[pl.DataFrame] = []
        cursor = start_us
        while cursor < end_us:
            params = {"symbol": symbol, "interval": interval, "startTime": cursor, "endTime": end_us - 1, "limit": PAGE}
            rows, source = self._get("/api/v3/klines", params)
            page = parse.klines_from_json(rows, self.instrument(symbol), interval, source)
            pages.append(page)
            if page.height < PAGE:
                break
            cursor = page["open_time"].dt.epoch("us").max() + 1
        return pl.concat(pages) if pages else KLINE.empty()

    def depth(self, symbol: str, limit: int = 100) -> Snapshot:
        """The order book's top `limit` levels per side (`{"lastUpdateId": N, "bids": [[price, qty], ...], "asks":
        [...]}` on the wire), checked like any other answer."""
        weight = next((w for most, w in DEPTH_WEIGHTS if limit <= most), None)
        if weight is None or limit < 1:
            raise ConfigError(f"depth limit {limit} is outside 1..{DEPTH_WEIGHTS[-1][0]}")
        book, source = self._get("/api/v3/depth", {"symbol": symbol, "limit": limit}, weight)
        return parse.depth_snapshot(book, source)

    # --- helpers ------------------------------------------------------------------------------------------------

    def _completed_day(self, day: date) -> tuple[int, int]:
        """The day's [start, end) in µs; ConfigError unless the day has ended on the exchange's clock."""
        start, end = day_bounds_us(day)
        now_us = self.server_time_us()
        if end > now_us:
            today = datetime.fromtimestamp(now_us / 1e6, timezone.utc).date()
            raise ConfigError(
                f"{day} is not a completed UTC day (the exchange's today is {today}); a day's aggTrades are loaded "
                "once it has ended"
            )
        return start, end

    def _first_agg_id(self, symbol: str, start: int, end: int) -> int | None:
        """Id of the day's first aggregate trade: searched hour by hour, as startTime/endTime may span < 1 hour."""
        for hour_start in range(start, end, HOUR_US):
            params = {"symbol": symbol, "startTime": hour_start, "endTime": hour_start + HOUR_US - 1, "limit": 1}
            rows, source = self._get("/api/v3/aggTrades", params)
            first = parse.agg_trades_from_json(rows, self.instrument(symbol), source)
            if first.height:
                return first["agg_id"][0]
        return None

    def _get(self, path: str, params: dict, weight: int | None = None) -> tuple[object, str]:
        """(JSON body, "GET <URL with parameters>") of a market-data request; the latter names the page in errors."""
        if not self.limiter.configured:
            self.exchange_info()
        response = self._request(path, params, WEIGHTS[path] if weight is None else weight)
        return _json(response), f"GET {response.url}"

    def _request(self, path: str, params: dict, weight: int) -> Answer:
        """GET with limiter, Retry-After and backoff; the successful response, or a specific error."""
        request = self._http.build_request("GET", path, params=params)
        url = str(request.url)
        backoff = Backoff(url, self.retries, "STREAMFORGE_REST_URL")
        waited_s = 0.0
        while True:
            self.limiter.acquire(weight)
            try:
                with bounded(self._http, request, self.limits) as answer:
                    response = answer.read()
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc}")
                continue
            self.limiter.observe(response.headers)
            status = response.status
            if status in (429, 418):
                retry_after = _retry_after(response)
                self.limiter.back_off(retry_after)
                waited_s += retry_after
                if waited_s > self.max_retry_after_s:
                    raise ExchangeError(
                        f"GET {url}: HTTP {status}, told to wait {retry_after:g} s more after "
                        f"{waited_s - retry_after:g} s already (limit STREAMFORGE_HTTP_MAX_RETRY_AFTER_S="
                        f"{self.max_retry_after_s:g})"
                    )
                continue
            if status >= 500:
                backoff.failed(f"HTTP {status}")
                continue
            if status >= 400:
                raise _api_error(response, url)
            return response


def _json(response: Answer) -> object:
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedDataError(f"GET {response.url}: response is not JSON: {response.text[:200]!r}") from exc


def _retry_after(response: Answer) -> float:
    """Seconds the server asks us to wait; 1 s when it does not say (never 0 or NaN: that would be a busy loop, as
    NaN compares false with any limit); an infinite one is kept, and exceeds every limit."""
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0
    return 1.0 if math.isnan(seconds) else max(seconds, 1.0)


def _api_error(response: Answer, url: str) -> Exception:
    try:
        body = response.json()
        code, msg = body["code"], body["msg"]
    except (ValueError, KeyError, TypeError):
        return ExchangeError(f"GET {url}: HTTP {response.status}: {response.text[:200]!r}")
    error = UnknownSymbolError if code == UNKNOWN_SYMBOL else ExchangeError
    return error(f"GET {url}: Binance error {code}: {str(msg)[:SHOWN_CHARS]}")
