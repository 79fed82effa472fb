"""What every Binance REST API shares, spot (`/api/v3`) and USD-M futures (`/fapi/v1`) alike.

Each API is its own host with its own per-IP REQUEST_WEIGHT limit, so each client keeps its own weight limiter,
configured from its own `exchangeInfo.rateLimits`. The rules around a request are the same on both: the limiter
admits it, nobody sends again before a 429/418's `Retry-After` has passed (sending anyway is what turns a 429 into an
IP ban), 5xx answers, timeouts and connection errors are retried with backoff, every request has an overall deadline
and its answer a byte limit (`bounded`), and error bodies `{"code": -1121, "msg": "Invalid symbol."}` become specific
errors. A subclass names its exchangeInfo path and its endpoints' weights.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone

import httpx
import polars as pl

from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.errors import SHOWN_CHARS, ConfigError, ExchangeError, MalformedDataError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE
from streamforge.venues.binance import parse
from streamforge.venues.binance.limiter import WeightLimiter
from streamforge.venues.bounded import ACCEPT_GZIP, Answer, Limits, bounded, transport
from streamforge.venues.retry import Backoff

UNKNOWN_SYMBOL = -1121  # Binance error code "Invalid symbol."
TRADING = "TRADING"  # exchangeInfo status of a symbol that trades
PAGE = 1000  # rows asked for per aggTrades or klines request
HOUR_US = 3_600_000_000

log = logging.getLogger(__name__)


# How long one exchangeInfo answer is reused: listings and rate limits change on a scale of hours.
INFO_TTL_S = 60.0


class BinanceHttp:
    """A REST client of one Binance API host: thread-safe, one weight limiter shared by all its threads."""

    EXCHANGE_INFO: str  # path of the API's exchangeInfo, which also declares its rate limits
    TIME: str  # path of the server time
    AGG_TRADES: str  # path of the aggregate trades
    WEIGHTS: Mapping[str, int]  # request weight per endpoint path
    TICKER_24H: str  # path of the 24-hour ticker
    TICKER_PARAMS: Mapping[str, str] = {}  # what the ticker of every symbol is asked for with
    US_PER_UNIT: int  # µs per unit of the API's times (request parameters and answers)

    def __init__(
        self,
        base_url: str,
        url_setting: str,
        headers: Mapping[str, str],
        timeout_s: float | None = None,
        retries: int | None = None,
        limiter: WeightLimiter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url_setting = url_setting  # named in errors: where the URL that failed comes from
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        self.max_retry_after_s = float(settings.get("STREAMFORGE_HTTP_MAX_RETRY_AFTER_S"))
        self.limiter = limiter or WeightLimiter()
        self._info: tuple[float, dict] | None = None  # (monotonic time, exchangeInfo): see exchange_info
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S") if timeout_s is None else timeout_s)
        self.limits = Limits.rest()
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={**headers, **ACCEPT_GZIP}, transport=transport()
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exchange_info(self) -> dict:
        """The API's symbols and rate limits; also (re)configures the limiter from `rateLimits`.

        One answer serves this client for INFO_TTL_S: it weighs 20 on spot, and registering a universe of hundreds of
        instruments, or a run over many cells, asks about each one."""
        if self._info is not None and time.monotonic() - self._info[0] < INFO_TTL_S:
            return self._info[1]
        response = self._request(self.EXCHANGE_INFO, {}, self.WEIGHTS[self.EXCHANGE_INFO])
        info = _json(response)
        if not isinstance(info, dict) or not isinstance(info.get("rateLimits"), list):
            raise MalformedDataError(f"GET {response.url}: exchangeInfo without a rateLimits list")
        self.limiter.configure(info["rateLimits"])
        self.limiter.observe(response.headers)  # the first answer came before the limiter knew its windows
        self._info = (time.monotonic(), info)
        return info

    def instrument(self, symbol: str) -> str:
        """The instrument id of a symbol of this API's market: what the records it parses are keyed by."""
        raise NotImplementedError

    def parse_agg_trades(self, rows: object, symbol: str, source: str) -> pl.DataFrame:
        """An aggTrades page of this API → AGG_TRADE."""
        raise NotImplementedError

    def symbol_spec(self, symbol: str) -> dict | None:
        """The symbol's exchangeInfo entry, whatever its status; None when the API does not list it."""
        return next((s for s in self.exchange_info().get("symbols", []) if s.get("symbol") == symbol), None)

    def trading(self, accept: Callable[[dict], bool] = lambda spec: True) -> list[str]:
        """The instrument ids of every symbol the API lists as TRADING (and `accept`s), in its own order. A listed
        symbol that is not a valid symbol of the market is logged and left out: one odd listing must not stop a
        fleet from following the others."""
        specs = self.exchange_info().get("symbols")
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise MalformedDataError(f"{self.base_url}{self.EXCHANGE_INFO}: `symbols` is not a list of objects")
        ids = []
        for spec in specs:
            if spec.get("status") != TRADING or not isinstance(spec.get("symbol"), str) or not accept(spec):
                continue
            try:
                ids.append(self.instrument(spec["symbol"]))
            except ConfigError:
                log.warning("%s lists %r, which is not a symbol of its market: not followed", self.base_url, spec["symbol"])
        return ids

    def require_listed(self, symbol: str) -> dict:
        """The symbol's exchangeInfo entry, whatever its status; UnknownSymbolError when the exchange does not list it."""
        spec = self.symbol_spec(symbol)
        if spec is None:
            raise UnknownSymbolError(f"{self.instrument(symbol)}: symbol {symbol} is not listed by the exchange")
        return spec

    def require_trading(self, symbol: str) -> dict:
        """The symbol's exchangeInfo entry; UnknownSymbolError when it is not listed or not trading."""
        spec = self.require_listed(symbol)
        if spec.get("status") != TRADING:
            raise UnknownSymbolError(f"{self.instrument(symbol)}: symbol {symbol} is not trading (status {spec.get('status')})")
        return spec

    def trade_counts(self) -> dict[str, int]:
        """Each listed symbol's trades in the last 24 hours by instrument id (`count` of the 24-hour ticker of every
        symbol: one request). A symbol that is not one of this market's is left out, as `trading` leaves it out."""
        rows, source = self._get(self.TICKER_24H, dict(self.TICKER_PARAMS))
        counts = {}
        for symbol, count in parse.trade_counts(rows, source).items():
            try:
                counts[self.instrument(symbol)] = count
            except ConfigError:
                log.warning("%s: the 24-hour ticker lists %r, which is not a symbol of its market", source, symbol)
        return counts

    def server_time_us(self) -> int:
        """The exchange's clock: it, not ours, decides which days are complete there."""
        body, source = self._get(self.TIME, {})
        if not isinstance(body, dict) or type(body.get("serverTime")) is not int:
            raise MalformedDataError(f"{source}: not a server time: {str(body)[:200]}")
        return body["serverTime"] * self.US_PER_UNIT

    # --- a day of aggregate trades ------------------------------------------------------------------------------

    def agg_trades_day(self, symbol: str, day: date) -> pl.DataFrame:
        """Exactly the aggregate trades of a completed UTC day [00:00, 24:00), contiguous in agg id."""
        start, end = self.completed_day(day)
        from_id = self._first_agg_id(symbol, start, end)
        pages: list[pl.DataFrame] = []
        while from_id is not None:
            rows, source = self._get(self.AGG_TRADES, {"symbol": symbol, "fromId": from_id, "limit": PAGE})
            page = self.parse_agg_trades(rows, symbol, source)
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
        start, end = self.completed_day(day)
        first = self._first_agg_id(symbol, start, end)
        if first is None:
            return range(0)
        rows, source = self._get(self.AGG_TRADES, {"symbol": symbol, "limit": 1})  # the latest trade
        latest = self.parse_agg_trades(rows, symbol, source)
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
        rows, source = self._get(self.AGG_TRADES, {"symbol": symbol, "fromId": agg_id, "limit": 1})
        return self.parse_agg_trades(rows, symbol, source).filter(pl.col("agg_id") == agg_id)

    def agg_trades_between(self, symbol: str, first_id: int, last_id: int) -> pl.DataFrame:
        """The aggregate trades with ids first_id..last_id, contiguous (the live loader's gap repair)."""
        pages: list[pl.DataFrame] = []
        from_id = first_id
        while from_id <= last_id:
            limit = min(PAGE, last_id - from_id + 1)
            rows, source = self._get(self.AGG_TRADES, {"symbol": symbol, "fromId": from_id, "limit": limit})
            page = self.parse_agg_trades(rows, symbol, source)
            parse.check_sequence(page, source, from_id)
            if page.is_empty():
                break
            pages.append(page)
            from_id += page.height
        return pl.concat(pages) if pages else AGG_TRADE.empty()

    def completed_day(self, day: date) -> tuple[int, int]:
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
        """Id of the first aggregate trade in [start, end) µs: searched hour by hour, as startTime/endTime may span
        less than an hour (endTime is inclusive)."""
        unit = self.US_PER_UNIT
        for hour_start in range(start, end, HOUR_US):
            window = {"startTime": hour_start // unit, "endTime": (min(hour_start + HOUR_US, end) - 1) // unit}
            rows, source = self._get(self.AGG_TRADES, {"symbol": symbol, **window, "limit": 1})
            first = self.parse_agg_trades(rows, symbol, source)
            if first.height:
                return first["agg_id"][0]
        return None

    def pages(
        self,
        path: str,
        params: dict,
        parse_page: Callable[[object, str], pl.DataFrame],
        start_us: int,
        end_us: int,
        time_column: str = "open_time",
        page: int = PAGE,
        weight: int | None = None,
    ) -> pl.DataFrame:
        """Every row of a time-windowed endpoint (klines and the like) with `time_column` in [start_us, end_us),
        page after page of `page` rows (the API answers ascending from startTime)."""
        frames: list[pl.DataFrame] = []
        cursor, unit = start_us, self.US_PER_UNIT
        while cursor < end_us:
            window = {"startTime": -(-cursor // unit), "endTime": (end_us - 1) // unit, "limit": page}
            rows, source = self._get(path, params | window, weight)
            frame = parse_page(rows, source)
            frames.append(frame)
            if frame.height < page:
                break
            cursor = frame[time_column].dt.epoch("us").max() + 1
        return pl.concat(frames) if frames else parse_page([], f"GET {self.base_url}{path}")

    def _get(self, path: str, params: dict, weight: int | None = None) -> tuple[object, str]:
        """(JSON body, "GET <URL with parameters>") of a market-data request; the latter names the page in errors."""
        if not self.limiter.configured:
            self.exchange_info()
        response = self._request(path, params, self.WEIGHTS[path] if weight is None else weight)
        return _json(response), f"GET {response.url}"

    def _request(self, path: str, params: dict, weight: int) -> Answer:
        """GET with limiter, Retry-After and backoff; the successful response, or a specific error."""
        request = self._http.build_request("GET", path, params=params)
        url = str(request.url)
        backoff = Backoff(url, self.retries, self.url_setting)
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
