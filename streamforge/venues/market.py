"""What the platform asks of a market, whichever venue runs it: the one interface above the venue folders.

The historical assets, the commands that register instruments and the live loader's repairs speak to a market only
through `MarketClient`; a venue folder implements it by translating to its own REST, dump files and formats. Every
method takes and returns catalog terms — instrument ids, cells, records keyed by instrument — never wire symbols.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from streamforge.catalog import Cell
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError


@dataclass(frozen=True)
class Endpoints:
    """Where a market is reached, as the settings name it: REST, dump files, WebSocket, and the local dump cache."""

    rest_url: str
    dump_url: str
    ws_url: str
    cache_dir: Path


class MarketClient(ABC):
    """One market of one venue (e.g. binance.spot), ready to answer for its instruments."""

    @abstractmethod
    def trading(self) -> list[str]:
        """The ids of every instrument the venue lists as trading now: the universe `streamforge live --markets`
        follows."""

    @abstractmethod
    def require_listed(self, instrument: str) -> dict:
        """The venue's description of the instrument; UnknownSymbolError naming it when the venue does not list it
        as trading."""

    @abstractmethod
    def lists(self, instrument: str) -> bool:
        """Whether the venue's instrument list shows the instrument at all, trading or not: a perpetual's spot
        instrument may not exist (Binance lists 1000PEPEUSDT on USD-M only), and a refused name may be another
        market's."""

    @abstractmethod
    def trades_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        """The complete AGG_TRADE frame of a completed UTC day and metadata on where it came from (never partial).
        An instrument that has stopped trading gives an empty frame and says why in the metadata."""

    @abstractmethod
    def rest_sample(self, instrument: str, trades: pl.DataFrame) -> pl.DataFrame:
        """The venue's own REST rows for a few pages of the ids in `trades` (first, last and between): what a day
        loaded from an archive file is held against, since an archive can pass its checksum and still disagree."""

    @abstractmethod
    def price_before(self, instrument: str, trades: pl.DataFrame) -> float | None:
        """Price of the trade just before the day's first: the close the venue carries into empty leading intervals."""

    @abstractmethod
    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        """The venue's own klines (KLINE) opening in [start_us, end_us)."""

    def klines_day(self, cell: Cell, interval: str) -> pl.DataFrame:
        """The venue's own klines of the cell's day: the reference candles are checked against."""
        return self.klines(cell.instrument, interval, *day_bounds_us(cell.day))

    def trades_24h(self) -> dict[str, int] | None:
        """The venue's count of trades in the last 24 hours of every instrument of the market, in one request (what a
        backfill's runs are sized by); None when the venue publishes no such count."""
        return None

    def pair(self, instrument: str) -> tuple[str, str]:
        """(base, quote) currencies of the instrument as its venue describes them: what says that instruments of two
        venues are the same asset (the cross-venue dataset lines those up)."""
        raise ConfigError(f"{instrument}: its market does not say which currencies it trades, so it has no counterparts")

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class PerpetualClient(MarketClient):
    """A market of perpetual futures: beside trades and klines, the prices it settles and liquidates by, funding and
    open interest."""

    @abstractmethod
    def price_klines_day(self, cell: Cell, kind: str, interval: str) -> pl.DataFrame:
        """The venue's `kind` ("mark" or "index") price klines (PRICE_KLINE) of the cell's day."""

    @abstractmethod
    def funding_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        """The funding settlements (FUNDING_RATE) of the cell's day, and metadata on where they came from."""

    @abstractmethod
    def open_interest_day(self, cell: Cell) -> pl.DataFrame:
        """The cell's day of open interest (OPEN_INTEREST); NotAvailableError saying from when the venue has it when
        it has none for the day."""

    @abstractmethod
    def funding_hours(self, instrument: str) -> int:
        """Hours between the instrument's funding settlements (from 00:00 UTC)."""

    @abstractmethod
    def mark_band(self, instrument: str) -> tuple[float, float]:
        """(down, up) multipliers of the band around the index the venue keeps the mark price in."""
