"""The venues as a Dagster resource: one client per market, pointed at the simulator or the real exchanges.

Which venue serves an instrument is read off its id; the assets hand over cells and instrument ids and never know.
`urls` holds base URLs by setting name (e.g. STREAMFORGE_REST_URL) for the markets whose URLs differ from the
environment — tests point them at their simulator; in a deployment it stays empty and the settings decide.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from streamforge import venues
from streamforge.catalog import Cell
from streamforge.cross_venue import Identity
from streamforge.errors import ConfigError
from streamforge.instruments import market_of, parse_instrument
from streamforge.venues.market import MarketClient, PerpetualClient


class ExchangeResource(dg.ConfigurableResource):
    urls: dict[str, str]
    cache_dir: str
    _clients: venues.Clients | None = PrivateAttr(default=None)

    def market(self, instrument: str) -> MarketClient:
        if self._clients is None:
            self._clients = venues.Clients(self.urls, Path(self.cache_dir))
        return self._clients.of(instrument)

    def perpetual(self, instrument: str) -> PerpetualClient:
        """The client of a perpetual's market; a ConfigError naming the instrument when its market has none."""
        client = self.market(instrument)
        if not isinstance(client, PerpetualClient):
            raise ConfigError(f"{instrument} is not a perpetual: it has no mark price, funding or open interest")
        return client

    def trades_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        """The day's aggregate trades, from the verified dump file or else REST, with where they came from."""
        return self.market(cell.instrument).trades_day(cell)

    def rest_sample(self, cell: Cell, trades: pl.DataFrame) -> pl.DataFrame:
        """The venue's own REST rows for a few pages of the day's ids, to hold an archive-loaded day against."""
        return self.market(cell.instrument).rest_sample(cell.instrument, trades)

    def price_before(self, cell: Cell, trades: pl.DataFrame) -> float | None:
        """Price of the trade just before the day's first: the close the venue carries into empty leading intervals."""
        return self.market(cell.instrument).price_before(cell.instrument, trades)

    def klines_day(self, cell: Cell, interval: str) -> pl.DataFrame:
        return self.market(cell.instrument).klines_day(cell, interval)

    def identity(self, instrument: str) -> Identity:
        """Venue, currencies and market kind: what makes instruments of two venues the same asset."""
        parsed, market = parse_instrument(instrument), market_of(instrument)
        base, quote = self.market(instrument).pair(instrument)
        return Identity(parsed.venue, base, quote, market.kind)
