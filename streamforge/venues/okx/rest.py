"""OKX v5 public REST: instruments, server time, trades by id within their reach, candles, funding history.

One code path for the simulator and OKX: only the base URL differs (STREAMFORGE_OKX_REST_URL). Every answer is the
envelope `{"code", "msg", "data"}` with numbers as strings; a code other than "0" becomes one line naming the request
and OKX's code and message, whatever the HTTP status (that of a 50011 is unconfirmed), 51001 an UnknownSymbolError.
Each endpoint has its own limit per 2 seconds (`limiter`); a 50011 backs that endpoint off a whole window and asks
again; 5xx answers, timeouts and connection errors are retried with backoff; every request has an overall deadline
and its answer a byte limit (`bounded`).

What OKX would refuse, or answer wrongly, is refused here before any request: an instrument it does not list, a bar
not spelled as OKX spells it (`1h` for `1H`), a trades cursor older than history-trades reaches.

Paging (`history-trades`, `history-candles`, `funding-rate-history`): results come newest first and both cursors are
exclusive — `after` asks for rows older than it, `before` for newer ones. Every page is held to that: its rows must
be newest first and strictly beyond the cursor, so an inclusive cursor (a repeated row) or a page out of order is an
error naming the request, never a duplicate or a hole in the day.
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import polars as pl

from streamforge import settings
from streamforge.errors import SHOWN_CHARS, ConfigError, ExchangeError, MalformedDataError, UnknownSymbolError, shown
from streamforge.schemas import AGG_TRADE, FUNDING_RATE, KLINE
from streamforge.venues.bounded import ACCEPT_GZIP, Answer, Limits, bounded, transport
from streamforge.venues.okx import parse
from streamforge.venues.okx.book import TextSnapshot
from streamforge.venues.okx.limiter import EndpointLimiter
from streamforge.venues.okx.listing import Listing
from streamforge.venues.okx.wire import (
    BARS,
    BOOKS,
    BY_TIME,
    BY_TRADE_ID,
    FUNDING_HISTORY,
    HISTORY_CANDLES,
    HISTORY_TRADES,
    INSTRUMENTS,
    LIMIT_WINDOW_S,
    OK,
    PAGE,
    RATE_LIMITED,
    TIME,
    TRADES_REACH,
    UNKNOWN_INSTRUMENT,
    UTC_BARS,
)
from streamforge.venues.retry import Backoff

MS_PER_DAY = 86_400_000


class OkxRest:
    """A REST client of one OKX base URL; thread-safe, one endpoint limiter shared by its threads."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        limiter: EndpointLimiter | None = None,
    ) -> None:
        self.base_url = (base_url or settings.get("STREAMFORGE_OKX_REST_URL")).rstrip("/")
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        self.max_retry_after_s = float(settings.get("STREAMFORGE_HTTP_MAX_RETRY_AFTER_S"))
        self.limiter = limiter or EndpointLimiter()
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S") if timeout_s is None else timeout_s)
        self.limits = Limits.rest()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=ACCEPT_GZIP, transport=transport())
        self._listings: dict[str, dict[str, Listing]] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OkxRest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- instruments and time -------------------------------------------------------------------------------------

    def listings(self, market_id: str) -> dict[str, Listing]:
        """The market's instruments as OKX lists them (any state), by instId; asked once per client."""
        if market_id not in self._listings:
            inst_type = Listing.inst_type_of(market_id)
            rows, source = self.get(INSTRUMENTS, {"instType": inst_type})
            if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("instId"), str) for r in rows):
                raise MalformedDataError(f"{source}: not a list of instruments with instId: {shown(rows)}")
            self._listings[market_id] = {r["instId"]: Listing.parse(r, market_id, source) for r in rows}
        return self._listings[market_id]

    def listing(self, market_id: str, inst_id: str) -> Listing:
        """One instrument as OKX lists it; UnknownSymbolError, before any market-data request, when it does not."""
        found = self.listings(market_id).get(inst_id)
        if found is None:
            raise UnknownSymbolError(
                f"{market_id}.{inst_id}: OKX does not list {inst_id} ({self.base_url}{INSTRUMENTS}?instType="
                f"{Listing.inst_type_of(market_id)})"
            )
        return found

    def server_time_ms(self) -> int:
        """OKX's clock: it, not ours, decides which days are complete there."""
        rows, source = self.get(TIME, {})
        ts = rows[0].get("ts") if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
        if not (isinstance(ts, str) and ts.isdigit()):
            raise MalformedDataError(f"{source}: not a server time: {shown(rows)}")
        return int(ts)

    def reach_start_ms(self, now_ms: int | None = None) -> int:
        """The oldest time history-trades still reaches (`wire.TRADES_REACH` before OKX's now)."""
        return (self.server_time_ms() if now_ms is None else now_ms) - int(TRADES_REACH.total_seconds() * 1000)

    def require_reach(self, start_ms: int, now_ms: int | None = None) -> None:
        """ConfigError, before any request, when trades from `start_ms` are older than history-trades reaches."""
        oldest = self.reach_start_ms(now_ms)
        if start_ms < oldest:
            raise ConfigError(
                f"trades from {_iso(start_ms)} are beyond the reach of OKX's history-trades (the last "
                f"{TRADES_REACH.days} days, back to {_iso(oldest)}): not asked for"
            )

    # --- trades -----------------------------------------------------------------------------------------------------

    def trades_page(self, listing: Listing, *, after: int, by: str = BY_TRADE_ID, limit: int | None = None) -> pl.DataFrame:
        """One history-trades page older than the exclusive cursor `after` (a trade id, or ms with `by=BY_TIME`),
        newest first, as OKX sent it; held to the cursor and the order."""
        limit = PAGE[HISTORY_TRADES] if limit is None else limit
        if not 1 <= limit <= PAGE[HISTORY_TRADES]:
            raise ConfigError(f"history-trades limit {limit} is outside 1..{PAGE[HISTORY_TRADES]}")
        params = {"instId": listing.inst_id, "type": by, "after": str(after), "limit": str(limit)}
        rows, source = self.get(HISTORY_TRADES, params)
        page = parse.trades_from_json(rows, listing.inst_id, listing.instrument, listing.contract_size, source)
        if page.height > limit:
            raise MalformedDataError(f"{source}: {page.height} rows for limit {limit}")
        ids, times = page["agg_id"], page["time"].dt.epoch("ms")
        beyond = (ids >= after) if by == BY_TRADE_ID else (times >= after)
        if beyond.any():
            raise MalformedDataError(
                f"{source}: trade id {ids.filter(beyond)[0]} is not older than the exclusive cursor after={after}: the "
                "documented paging does not hold"
            )
        if page.height > 1 and not ((ids.diff().drop_nulls() < 0).all() and (times.diff().drop_nulls() <= 0).all()):
            raise MalformedDataError(f"{source}: rows are not newest first by trade id and time")
        return page

    def trades_between(
        self, listing: Listing, start_ms: int, end_ms: int, *, after_id: int | None = None, limit: int | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(trades with start_ms <= ts < end_ms and id > after_id, oldest first; the trade just before them) — the
        latter empty when history begins inside the range at the instrument's listing.

        Pages older from the first trade before end_ms until a trade before start_ms (or with id <= after_id) shows
        the range is complete; a history that ends before that is an error unless the instrument was listed inside
        the range, since a partial day must never pass as a day."""
        self.require_reach(start_ms)
        pages: list[pl.DataFrame] = []
        page = self.trades_page(listing, after=end_ms, by=BY_TIME, limit=limit)
        floor_id = -1 if after_id is None else after_id
        while True:
            done = (page["time"].dt.epoch("ms") < start_ms) | (page["agg_id"] <= floor_id)
            if done.any():
                cut = int(done.arg_true()[0])
                pages.append(page.head(cut))
                boundary = page.slice(cut, 1)
                break
            pages.append(page)
            if page.height < (limit or PAGE[HISTORY_TRADES]):
                if not _listed_since(listing, start_ms):
                    oldest = next((int(p["agg_id"][-1]) for p in reversed(pages) if p.height), None)
                    raise ExchangeError(
                        f"GET {self.base_url}{HISTORY_TRADES}?instId={listing.inst_id}: history ends at trade "
                        f"{oldest} before reaching {_iso(start_ms)}, though {listing.instrument} was listed before: "
                        "the day cannot be completed from REST"
                    )
                boundary = AGG_TRADE.empty()
                break
            page = self.trades_page(listing, after=int(page["agg_id"][-1]), limit=limit)
        frame = pl.concat(pages).reverse() if pages else AGG_TRADE.empty()
        return frame, boundary

    def trades_with_ids(self, listing: Listing, first: int, last: int) -> pl.DataFrame:
        """The trades OKX has with first <= id <= last, oldest first: the live loader's repair after a reconnect
        (ids need not be contiguous, so whatever REST has between is all there is)."""
        pages: list[pl.DataFrame] = []
        cursor = last + 1
        while cursor > first:
            page = self.trades_page(listing, after=cursor)
            pages.append(page.filter(pl.col("agg_id") >= first))
            if page.height < PAGE[HISTORY_TRADES] or page["agg_id"][-1] <= first:
                break
            cursor = int(page["agg_id"][-1])
        return pl.concat(pages).reverse() if pages else AGG_TRADE.empty()

    def books(self, listing: Listing, levels: int) -> TextSnapshot:
        """The order book's best `levels` per side (at most 400) with the `seqId` of its state: a REST snapshot
        the live book can restart from, its levels' strings kept for the checksum."""
        if not 1 <= levels <= PAGE[BOOKS]:
            raise ConfigError(f"books sz {levels} is outside 1..{PAGE[BOOKS]}")
        rows, source = self.get(BOOKS, {"instId": listing.inst_id, "sz": str(levels)})
        book = parse.book_from_json(rows, source)
        factor = listing.contract_size or 1.0
        return TextSnapshot(
            book.seq_id, [(float(p), float(q) * factor) for p, q in book.bids],
            [(float(p), float(q) * factor) for p, q in book.asks], book.bids, book.asks,
        )

    def trades_around(self, listing: Listing, ids: list[int], limit: int | None = None) -> pl.DataFrame:
        """The page of trades ending at each id of `ids` (that id and older ones), oldest first: OKX's own rows
        for the ids a loaded day is compared with."""
        pages = [self.trades_page(listing, after=i + 1, limit=limit) for i in ids]
        return pl.concat(pages).unique("agg_id").sort("agg_id") if pages else AGG_TRADE.empty()

    # --- candles and funding ----------------------------------------------------------------------------------------

    def candles(self, listing: Listing, interval: str, start_ms: int, end_ms: int) -> pl.DataFrame:
        """OKX's confirmed bars of `interval` (our spelling: 1m, 5m, 1h...) opening in [start_ms, end_ms), from
        history-candles, oldest first."""
        bar = UTC_BARS.get(interval)
        if bar is None:
            raise ConfigError(f"interval {interval!r} has no UTC bar on OKX; use one of {', '.join(UTC_BARS)}")
        pages = [
            parse.candles_from_json(rows, listing.instrument, interval, listing.contract_size, source)[0]
            for rows, source in self._pages(HISTORY_CANDLES, listing, bar, start_ms, end_ms, _candle_ms)
        ]
        return pl.concat(pages).sort("open_time") if pages else KLINE.empty()

    def candle_before(self, listing: Listing, interval: str, before_ms: int) -> pl.DataFrame:
        """OKX's last confirmed bar of `interval` opening before `before_ms` (empty when there is none)."""
        params = {"instId": listing.inst_id, "bar": require_bar(UTC_BARS[interval]), "after": str(before_ms), "limit": "1"}
        rows, source = self.get(HISTORY_CANDLES, params)
        bars, _ = parse.candles_from_json(rows, listing.instrument, interval, listing.contract_size, source)
        if bars.height and bars["open_time"].dt.epoch("ms")[0] >= before_ms:
            raise MalformedDataError(f"{source}: a bar at or after the exclusive cursor after={before_ms}")
        return bars

    def funding(self, listing: Listing, start_ms: int, end_ms: int) -> pl.DataFrame:
        """Funding settlements (FUNDING_RATE) with start_ms <= fundingTime < end_ms, oldest first, each with the
        interval it ends: the spacing from the settlement before it, asked for too (one day earlier at most)."""
        if listing.contract_size is None:
            raise ConfigError(f"{listing.instrument} is not a swap: it has no funding")
        source = f"GET {self.base_url}{FUNDING_HISTORY}?instId={listing.inst_id}"
        before = start_ms - MS_PER_DAY
        pages = [
            parse.funding_from_json(rows, listing.inst_id, listing.instrument, source)
            for rows, source in self._pages(FUNDING_HISTORY, listing, None, before, end_ms, _funding_ms)
        ]
        if not pages:
            return FUNDING_RATE.empty()
        settled = parse.with_intervals(pl.concat(pages).sort("funding_time"), source)
        return settled.filter(pl.col("funding_time").dt.epoch("ms") >= start_ms)

    def funding_hours(self, listing: Listing) -> int:
        """Hours between the swap's latest settlements (okx.md documents no interval field: the spacing tells)."""
        now_ms = self.server_time_ms()
        latest = self.funding(listing, now_ms - 2 * MS_PER_DAY, now_ms + 1)
        if latest.is_empty():
            raise ConfigError(f"{listing.instrument}: no funding settled in the last two days to tell its interval")
        return int(latest["funding_interval_hours"][-1])

    def _pages(self, path: str, listing: Listing, bar: str | None, start_ms: int, end_ms: int, time_of):
        """(rows, source) of each page of a time-paged endpoint, rows with start_ms <= time < end_ms: each request
        asks for rows newer than start_ms - 1 and older than the cursor, both exclusive."""
        cursor, limit = end_ms, PAGE[path]
        while cursor > start_ms:
            params = {"instId": listing.inst_id, "after": str(cursor), "before": str(start_ms - 1), "limit": str(limit)}
            if bar is not None:
                params["bar"] = require_bar(bar)
            rows, source = self.get(path, params)
            times = [time_of(row, source) for row in rows] if isinstance(rows, list) else []
            if any(not start_ms <= t < cursor for t in times) or times != sorted(times, reverse=True):
                raise MalformedDataError(
                    f"{source}: rows outside ({start_ms - 1}, {cursor}) or not newest first: the documented exclusive "
                    "cursors do not hold"
                )
            yield rows, source
            if len(times) < limit:
                return
            cursor = times[-1]

    # --- requests ---------------------------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str]) -> tuple[object, str]:
        """(the envelope's data, "GET <URL with parameters>") of a request; OKX's own error as one line otherwise."""
        request = self._http.build_request("GET", path, params=params)
        url = str(request.url)
        backoff = Backoff(url, self.retries, "STREAMFORGE_OKX_REST_URL")
        waited_s = 0.0
        while True:
            self.limiter.acquire(path)
            try:
                with bounded(self._http, request, self.limits) as answer:
                    response = answer.read()
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc}")
                continue
            if response.status >= 500:
                backoff.failed(f"HTTP {response.status}")
                continue
            code, msg, data = _envelope(response, url)
            if code == RATE_LIMITED:
                self.limiter.back_off(path)
                waited_s += LIMIT_WINDOW_S
                if waited_s > self.max_retry_after_s:
                    raise ExchangeError(
                        f"GET {url}: OKX error {code} (rate limit) for {waited_s:g} s (limit "
                        f"STREAMFORGE_HTTP_MAX_RETRY_AFTER_S={self.max_retry_after_s:g})"
                    )
                continue
            if code != OK:
                error = UnknownSymbolError if code == UNKNOWN_INSTRUMENT else ExchangeError
                raise error(f"GET {url}: OKX error {code}: {msg[:SHOWN_CHARS]}")
            return data, f"GET {url}"


def require_bar(bar: str) -> str:
    """`bar` when OKX has it, spelled as OKX spells it; a ConfigError naming the right case otherwise."""
    if bar in BARS:
        return bar
    near = [b for b in BARS if b.lower() == bar.lower()]
    hint = f"; bars are case-sensitive: did you mean {' or '.join(map(repr, near))}?" if near else f"; OKX's bars: {', '.join(BARS)}"
    raise ConfigError(f"{bar!r} is not an OKX bar{hint}")


def _envelope(response: Answer, url: str) -> tuple[str, str, object]:
    try:
        body = response.json()
        code, msg, data = body["code"], body["msg"], body.get("data", [])
    except (ValueError, KeyError, TypeError):
        raise ExchangeError(f"GET {url}: HTTP {response.status}: not OKX's envelope: {response.text[:200]!r}") from None
    if not isinstance(code, str) or not isinstance(msg, str):
        raise MalformedDataError(f"GET {url}: envelope code {shown(code)} and msg {shown(msg)} are not strings")
    return code, msg, data


def _candle_ms(row: object, source: str) -> int:
    if isinstance(row, list) and row and isinstance(row[0], str) and row[0].isdigit():
        return int(row[0])
    raise MalformedDataError(f"{source}: a candle without a ts string first: {shown(row)}")


def _funding_ms(row: object, source: str) -> int:
    value = row.get("fundingTime") if isinstance(row, dict) else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise MalformedDataError(f"{source}: a funding row without a fundingTime string: {shown(row)}")


def _listed_since(listing: Listing, start_ms: int) -> bool:
    """True when the instrument was listed after `start_ms`: its history may begin inside a range from then."""
    return listing.list_time_ms is not None and listing.list_time_ms > start_ms


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds")
