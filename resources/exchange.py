"""The exchange as a Dagster resource: REST client and dump-file cache, pointed at the simulator or Binance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from streamforge.dates import day_bounds_us
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.history import load_agg_trades_day
from streamforge.venues.binance.rest import BinanceRest


class ExchangeResource(dg.ConfigurableResource):
    """Binance-compatible exchange. Base URLs are the only difference between the simulator and Binance."""

    rest_url: str
    dump_url: str
    cache_dir: str
    # One client per process, so its weight limiter sees every request this process makes.
    _rest: BinanceRest | None = PrivateAttr(default=None)

    def rest(self) -> BinanceRest:
        if self._rest is None:
            self._rest = BinanceRest(base_url=self.rest_url)
        return self._rest

    def agg_trades_day(self, symbol: str, day: date) -> tuple[pl.DataFrame, dict]:
        """The day's aggregate trades, from the verified dump file or else REST, with where they came from."""
        return load_agg_trades_day(self.rest(), DumpClient(base_url=self.dump_url, cache_dir=Path(self.cache_dir)), symbol, day)

    def price_before(self, symbol: str, trades: pl.DataFrame) -> float | None:
        """Price of the trade just before the day's first: the close Binance carries into empty leading intervals."""
        if trades.height == 0 or trades["agg_id"][0] == 0:
            return None
        previous = self.rest().agg_trade(symbol, int(trades["agg_id"][0]) - 1)
        return float(previous["price"][0]) if previous.height else None

    def klines_day(self, symbol: str, interval: str, day: date) -> pl.DataFrame:
        start, end = day_bounds_us(day)
        return self.rest().klines(symbol, interval, start, end)
