"""Binance USD-M perpetuals' live streams as a `Feed`, on fstream's routed endpoints (since 2026-03; the unrouted
URLs were retired on 2026-04-23 and acknowledge market streams without ever sending them).

Per instrument: `<symbol>@depth@100ms` and `<symbol>@bookTicker` (every change of the best bid or ask, to the
top-of-book dataset's topic) on `/public`; `<symbol>@aggTrade`, `<symbol>@markPrice@1s` (mark and index
price, the funding rate it heads for and the next settlement), `<symbol>@forceOrder` (liquidations: Binance's
snapshot of the latest per second, not every one) and `<symbol>@kline_1m` on `/market`. A connection carries at most
200 streams (100 instruments on /public, 50 on /market) and accepts at most 10 incoming messages a second; times
are ms. The book follows the futures procedure
(`usdm.book`: straddle, then the `pu` chain). Mark prices and liquidations go to their own datasets' topics.
"""

from __future__ import annotations

from streamforge.catalog import DATASETS, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, TOP
from streamforge.errors import shown
from streamforge.instruments import Instrument
from streamforge.live.feed import BadEvent, Book, BookUpdate, ConnectionPlan, Event, Kline, Record, Rules, Snapshot, Trade
from streamforge.venues.binance.live import BinanceFeed, combined_plans, stream_event, subscribed, ws_base
from streamforge.venues.binance.usdm import events
from streamforge.venues.binance.usdm.book import MAX_SNAPSHOT_LEVELS, FuturesBook
from streamforge.venues.binance.usdm.rest import DEPTH_LIMITS, UsdmRest
from streamforge.venues.market import Endpoints

MAX_STREAMS = 200
ROUTES = {
    "public": ("depth@100ms", "bookTicker"),
    "market": ("aggTrade", "markPrice@1s", "forceOrder", f"kline_{DATASETS[LIVE_KLINES_1M].interval}"),
}


class BinanceUsdmFeed(BinanceFeed):
    rules = Rules(control_per_s=10)

    def __init__(self, endpoints: Endpoints, instruments: list[Instrument], share: float = 1.0) -> None:
        super().__init__(endpoints, instruments, UsdmRest, share)

    def plan(self) -> list[ConnectionPlan]:
        base = ws_base(self.endpoints)
        return [
            plan
            for route, suffixes in ROUTES.items()
            for plan in combined_plans(
                f"{base}/{route}",
                [f"{i.symbol.lower()}@{suffix}" for i in self.instruments for suffix in subscribed(suffixes)],
                MAX_STREAMS, "", self._ids,
            )
        ]

    def parse(self, raw: str, received_us: int) -> list[Event]:
        _, data, replies = stream_event(raw)
        if data is None:
            return replies
        instrument = self.instrument_of(events.symbol_of(data))
        kind = data.get("e")
        if kind == "aggTrade":
            row = events.agg_trade(data, instrument)
            return [Trade(instrument, row, row["agg_id"], row["time"])]
        if kind == "depthUpdate":
            event = events.depth_update(data, instrument)
            return [BookUpdate(instrument, event.depth.row(), event.event_time_us, event)]
        if kind == "kline":
            closed, row = events.kline(data, instrument)
            return [Kline(instrument, row, row["open_time"], closed)]
        if kind == "markPriceUpdate":
            row = events.mark_price(data, instrument)
            return [Record(LIVE_MARK_PRICE, instrument, row, row["time"])]
        if kind == "forceOrder":
            row = events.force_order(data, instrument)
            return [Record(LIVE_LIQUIDATIONS, instrument, row, row["time"])]
        if kind == "bookTicker":
            row = events.book_ticker(data, instrument)
            return [Record(TOP, instrument, row, row["time"])]
        raise BadEvent(f"unknown event type {shown(kind)}")

    def book(self, instrument: str, max_levels: int, max_buffered: int) -> Book:
        return FuturesBook(instrument, min(max_levels, MAX_SNAPSHOT_LEVELS), max_buffered)

    def snapshot(self, instrument: str, levels: int) -> Snapshot:
        limit = next((n for n in DEPTH_LIMITS if n >= levels), DEPTH_LIMITS[-1])
        return self.rest.depth(self.symbol_of[instrument], limit)
