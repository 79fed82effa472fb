"""Binance spot as a `MarketClient`: instrument ids and cells in, records out, Binance's REST and dump files inside."""

from __future__ import annotations

import polars as pl

from streamforge.catalog import Cell
from streamforge.venues.binance import SPOT, symbol_on
from streamforge.venues.binance.crosscheck import rest_sample
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.history import load_agg_trades_day
from streamforge.venues.binance.rest import BinanceRest
from streamforge.venues.market import Endpoints, MarketClient


class BinanceSpot(MarketClient):
    def __init__(self, endpoints: Endpoints) -> None:
        self.rest = BinanceRest(base_url=endpoints.rest_url)
        self.dumps = DumpClient(base_url=endpoints.dump_url, cache_dir=endpoints.cache_dir)

    def trading(self) -> list[str]:
        return self.rest.trading()

    def trades_24h(self) -> dict[str, int]:
        return self.rest.trade_counts()

    def require_listed(self, instrument: str) -> dict:
        return self.rest.require_trading(_symbol(instrument))

    def lists(self, instrument: str) -> bool:
        return self.rest.symbol_spec(_symbol(instrument)) is not None

    def trades_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        return load_agg_trades_day(self.rest, self.dumps, _symbol(cell.instrument), cell.day)

    def rest_sample(self, instrument: str, trades: pl.DataFrame) -> pl.DataFrame:
        return rest_sample(self.rest, _symbol(instrument), trades)

    def price_before(self, instrument: str, trades: pl.DataFrame) -> float | None:
        if trades.height == 0 or trades["agg_id"][0] == 0:
            return None
        previous = self.rest.agg_trade(_symbol(instrument), int(trades["agg_id"][0]) - 1)
        return float(previous["price"][0]) if previous.height else None

    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        return self.rest.klines(_symbol(instrument), interval, start_us, end_us)

    def pair(self, instrument: str) -> tuple[str, str]:
        spec = self.rest.require_listed(_symbol(instrument))
        return spec["baseAsset"], spec["quoteAsset"]

    def close(self) -> None:
        self.rest.close()
        self.dumps.close()


def _symbol(instrument: str) -> str:
    return symbol_on(SPOT, instrument)
