"""Binance USD-M perpetuals as a `PerpetualClient`: instrument ids and cells in, records out, fapi and the
data/futures/um archive inside."""

from __future__ import annotations

import polars as pl

from streamforge.catalog import Cell
from streamforge.dates import day_bounds_us
from streamforge.schemas import AGG_TRADE
from streamforge.venues.binance.crosscheck import rest_sample
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance import symbol_on
from streamforge.venues.binance.usdm import USDM
from streamforge.venues.binance.usdm.history import load_agg_trades_day, load_funding_day
from streamforge.venues.binance.usdm.rest import PERPETUAL, UsdmRest
from streamforge.venues.market import Endpoints, PerpetualClient

MINUTE_US = 60_000_000


class BinanceUsdm(PerpetualClient):
    def __init__(self, endpoints: Endpoints) -> None:
        self.rest = UsdmRest(base_url=endpoints.rest_url)
        self.dumps = DumpClient(endpoints.dump_url, endpoints.cache_dir, url_setting="STREAMFORGE_USDM_DUMP_URL")

    def trading(self) -> list[str]:
        return self.rest.trading(lambda spec: spec.get("contractType") == PERPETUAL)

    def trades_24h(self) -> dict[str, int]:
        return self.rest.trade_counts()

    def require_listed(self, instrument: str) -> dict:
        return self.rest.require_perpetual(_symbol(instrument))

    def lists(self, instrument: str) -> bool:
        spec = self.rest.symbol_spec(_symbol(instrument))
        return spec is not None and spec.get("contractType") == PERPETUAL

    def trades_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        return load_agg_trades_day(self.rest, self.dumps, _symbol(cell.instrument), cell.day)

    def rest_sample(self, instrument: str, trades: pl.DataFrame) -> pl.DataFrame:
        """REST rows for a few pages of the day's ids while REST aggTrades still reach the day; none beyond."""
        if trades.is_empty() or not self.rest.reaches_trades(trades["time"][0].date())[0]:
            return AGG_TRADE.empty()
        return rest_sample(self.rest, _symbol(instrument), trades)

    def price_before(self, instrument: str, trades: pl.DataFrame) -> float | None:
        """The close of the minute before the day: its last trade's price, carried by the exchange's kline through
        minutes without trades (REST aggTrades do not reach back far enough to ask for the trade itself)."""
        if trades.is_empty():
            return None
        start = day_bounds_us(trades["time"][0].date())[0]
        before = self.rest.klines(_symbol(instrument), "1m", start - MINUTE_US, start)
        return float(before["close"][-1]) if before.height else None

    def klines(self, instrument: str, interval: str, start_us: int, end_us: int) -> pl.DataFrame:
        return self.rest.klines(_symbol(instrument), interval, start_us, end_us)

    def price_klines_day(self, cell: Cell, kind: str, interval: str) -> pl.DataFrame:
        return self.rest.klines(_symbol(cell.instrument), interval, *day_bounds_us(cell.day), kind=kind)

    def funding_day(self, cell: Cell) -> tuple[pl.DataFrame, dict]:
        return load_funding_day(self.rest, self.dumps, _symbol(cell.instrument), cell.day)

    def open_interest_day(self, cell: Cell) -> pl.DataFrame:
        return self.rest.open_interest(_symbol(cell.instrument), cell.day)

    def funding_hours(self, instrument: str) -> int:
        return self.rest.funding_hours(_symbol(instrument))

    def mark_band(self, instrument: str) -> tuple[float, float]:
        return self.rest.mark_band(_symbol(instrument))

    def pair(self, instrument: str) -> tuple[str, str]:
        spec = self.require_listed(instrument)
        return spec["baseAsset"], spec["quoteAsset"]

    def close(self) -> None:
        self.rest.close()
        self.dumps.close()


def _symbol(instrument: str) -> str:
    return symbol_on(USDM, instrument)
