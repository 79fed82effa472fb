"""OKX spot and perpetual swaps as `MarketClient`s: instrument ids and cells in, records out, OKX's REST and daily
files inside. A swap's sizes are contracts and become base quantities with its ctVal at the edge (`parse`)."""

from __future__ import annotations

import polars as pl

from streamforge import settings
from streamforge.catalog import Cell
from streamforge.instruments import Market, parse_instrument
from streamforge.schemas import AGG_TRADE
from streamforge.dates import day_bounds_us
from streamforge.errors import NotAvailableError
from streamforge.venues.market import Endpoints, MarketClient, PerpetualClient
from streamforge.venues.okx import SPOT, SWAP
from streamforge.venues.okx.files import TradeFiles
from streamforge.venues.okx.history import trades_day
from streamforge.venues.okx.listing import Listing
from streamforge.venues.okx.rest import MS_PER_DAY, OkxRest
from streamforge.venues.okx.wire import FUNDING_HISTORY, HISTORY_TRADES, PAGE

US_PER_MS = 1000


class OkxMarket(MarketClient):
    market: Market

    def __init__(self, endpoints: Endpoints) -> None:
        self.rest = OkxRest(base_url=endpoints.rest_url)
        self.files = TradeFiles(base_url=endpoints.dump_url, cache_dir=endpoints.cache_dir)

    def listing(self, instrument: str) -> Listing:
        parsed = parse_instrument(instrument)
        if parsed.market_id != self.market.id:
            raise ValueError(f"{instrument} is not an {self.market.description} instrument")  # a routing bug
        return self.rest.listing(self.market.id, parsed.symbol)

    def trading(self) -> list[str]:
        return [listing.instrument for listing in self.rest.listings(self.market.id).values() if listing.live]

    def require_listed(self, instrument: str) -> dict:
        return self.listing(instrument).require_live().raw

    def lists(self, instrument: str) -> bool:
        return parse_instrument(instrument).symbol in self.rest.listings(self.market.id)

    def trades_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        return trades_day(self.rest, self.files, self.listing(cell.instrument), cell.day)

    def rest_sample(self, instrument: str, trades: pl.DataFrame) -> pl.DataFrame:
        """OKX's history-trades pages ending at a few of the day's trades (the last, the first page's last, evenly
        between; STREAMFORGE_DUMP_VERIFY_PAGES of them); none when the day is beyond REST's reach."""
        pages = int(settings.get("STREAMFORGE_DUMP_VERIFY_PAGES"))
        if trades.is_empty() or pages < 1:
            return AGG_TRADE.empty()
        listing = self.listing(instrument)
        if trades["time"].dt.epoch("ms")[0] < self.rest.reach_start_ms():
            return AGG_TRADE.empty()
        size, n = PAGE[HISTORY_TRADES], trades.height
        ends = sorted({min(size - 1, n - 1) + (n - min(size, n)) * i // max(pages - 1, 1) for i in range(pages)})
        sample = self.rest.trades_around(listing, [int(trades["agg_id"][e]) for e in ends])
        first, last = trades["agg_id"][0], trades["agg_id"][-1]
        return sample.filter(pl.col("agg_id").is_between(first, last))

    def price_before(self, instrument: str, trades: pl.DataFrame) -> float | None:
        """The close of OKX's last 1-minute bar before the day: the last price before it, also beyond the three
        months history-trades reaches (bars go back years)."""
        if trades.is_empty():
            return None
        day_start_ms = int(trades["time"].dt.epoch("ms")[0]) // MS_PER_DAY * MS_PER_DAY
        bar = self.rest.candle_before(self.listing(instrument), "1m", day_start_ms)
        return float(bar["close"][0]) if bar.height else None

    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        return self.rest.candles(self.listing(instrument), interval, start_us // US_PER_MS, -(-end_us // US_PER_MS))

    def pair(self, instrument: str) -> tuple[str, str]:
        listing = self.listing(instrument)
        return listing.base, listing.quote

    def close(self) -> None:
        self.rest.close()
        self.files.close()


class OkxSpot(OkxMarket):
    market = SPOT


class OkxSwap(OkxMarket, PerpetualClient):
    """An OKX linear swap: its funding-rate history beside trades and candles. okx.md documents no mark or index
    candles and no open interest for it, so those are refused by name (the catalog does not ask for them)."""

    market = SWAP

    def funding_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        listing = self.listing(cell.instrument)
        start, end = (t // US_PER_MS for t in day_bounds_us(cell.day))
        frame = self.rest.funding(listing, start, end)
        url = f"{self.rest.base_url}{FUNDING_HISTORY}?instId={listing.inst_id}"
        return frame, {"source": "rest", "url": url, "rows": frame.height, "rate": "realizedRate"}

    def funding_hours(self, instrument: str) -> int:
        return self.rest.funding_hours(self.listing(instrument))

    def price_klines_day(self, cell: Cell, kind: str, interval: str) -> pl.DataFrame:
        raise NotAvailableError(f"{cell.instrument}: okx.md documents no {kind}-price candles for OKX swaps")

    def open_interest_day(self, cell: Cell) -> pl.DataFrame:
        raise NotAvailableError(f"{cell.instrument}: okx.md documents no open interest history for OKX swaps")

    def mark_band(self, instrument: str) -> tuple[float, float]:
        raise NotAvailableError(f"{instrument}: okx.md documents no mark-price band for OKX swaps")
