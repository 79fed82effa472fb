"""The universe: every asset listed as instruments on the simulated venues' markets.

`MARKETS` says, per venue market, which assets it lists (those busy enough on Binance spot), under which symbol, how
busy its instruments are relative to Binance spot, from which day it trades, and which market its prices derive from
(`derived` says how). Binance spot lists every ranked asset of the universe; the others list a busy subset; a
futures-only asset (`assets.FUTURES_ONLY`, e.g. 1000PEPE) is listed by its one market alone:

| market         | symbol           | lists assets with Binance spot aggTrades/day ≥ | price derives from |
|----------------|------------------|-----------------------------------------------|--------------------|
| `binance.spot` | `BTCUSDT`        | all                                           | the asset itself   |
| `binance.usdm` | `BTCUSDT`        | 5,000                                         | `binance.spot`     |
| `okx.spot`     | `BTC-USDT`       | 15,000                                        | `binance.spot`     |
| `okx.swap`     | `BTC-USDT-SWAP`  | 25,000                                        | `binance.usdm`     |

A derived instrument is listed from the later of its asset's listing and its market's opening, and delisted with its
asset. Tick and step sizes follow the venues' habits (coarser ticks for perpetuals of high-priced assets; OKX swaps
count contracts of `contract_size` base units). With the default universe (7 assets and 1000PEPE) that is
7 + 7 + 6 + 6 instruments; `Universe(200)` gives 416 (200 + 130 + 52 + 34).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from streamforge.errors import UnknownSymbolError
from streamforge.sim.assets import FUTURES_ONLY, QUOTE, Asset, universe
from streamforge.sim.instruments import Instrument, instrument_id, parse_key

#: Perpetuals of assets at least this busy settle funding every 8 hours, the others every 4 (Binance moved many
#: smaller perpetuals to 4-hour funding).
EIGHT_HOUR_FUNDING_FROM = 100_000


@dataclass(frozen=True)
class VenueMarket:
    venue: str
    market: str
    reference: str | None  # the venue market its prices derive from; None: the asset's own price
    opened: date | None  # first trading day; None: before the simulated history
    min_activity: int  # lists assets with at least this many Binance spot aggTrades a day
    activity: float  # its aggregate trades per day relative to the asset's on Binance spot
    symbol: Callable[[str], str]  # base asset -> venue symbol
    funding_hours: Callable[[Asset], int] = lambda asset: 0
    contracts: bool = False  # quantities are whole contracts (OKX swaps)

    @property
    def name(self) -> str:
        return f"{self.venue}.{self.market}"


def _binance_funding_hours(asset: Asset) -> int:
    return 8 if asset.agg_trades_per_day >= EIGHT_HOUR_FUNDING_FROM else 4


MARKETS: dict[str, VenueMarket] = {
    m.name: m
    for m in [
        VenueMarket("binance", "spot", None, None, 0, 1.0, lambda base: base + QUOTE),
        VenueMarket(
            "binance", "usdm", "binance.spot", date(2019, 9, 8), 5_000, 1.5, lambda base: base + QUOTE,
            funding_hours=_binance_funding_hours,
        ),
        VenueMarket("okx", "spot", "binance.spot", None, 15_000, 0.25, lambda base: f"{base}-{QUOTE}"),
        VenueMarket(
            "okx", "swap", "binance.usdm", date(2020, 1, 1), 25_000, 0.6, lambda base: f"{base}-{QUOTE}-SWAP",
            funding_hours=lambda asset: 8, contracts=True,
        ),
    ]
}

SPOT_MARKETS = [name for name, market in MARKETS.items() if market.market == "spot"]
#: The market whose prices are the assets' own (every other derives from it); its path of an asset it does not list
#: exists all the same.
OWN_PRICES = next(name for name, market in MARKETS.items() if market.reference is None)


def listing(market: VenueMarket, asset: Asset) -> Instrument | None:
    """The asset's instrument on `market`, or None when the market does not list it."""
    if asset.only_on is not None and asset.only_on != market.name:
        return None
    if market.reference is None:
        return Instrument(
            market.venue, market.market, market.symbol(asset.name), asset.name, QUOTE, asset.tick_size,
            asset.step_size, asset.median_qty, asset.agg_trades_per_day, asset.listed, asset.delisted,
        )
    listed = max((d for d in (asset.listed, market.opened) if d is not None), default=None)
    if asset.agg_trades_per_day < market.min_activity or (asset.delisted and listed and asset.delisted <= listed):
        return None
    high_priced = asset.price_2025 >= 10_000
    tick = asset.tick_size * (10 if high_priced else 1)
    if market.contracts:
        contract = 10.0 ** math.floor(math.log10(1_000 / asset.price_2025))
        step = contract * (0.01 if asset.price_2025 >= 1_000 else 1.0)
    else:
        contract, step = 1.0, min(asset.step_size * 10, 1.0)
    return Instrument(
        market.venue, market.market, market.symbol(asset.name), asset.name, QUOTE, tick, step,
        round(max(round(asset.median_qty / step), 1) * step, 10), int(asset.agg_trades_per_day * market.activity), listed,
        asset.delisted, contract_size=contract, funding_hours=market.funding_hours(asset),
    )


class Universe:
    """The assets of a universe (its `size` ranked assets and the futures-only ones) and every instrument listing
    them, by id."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.assets: dict[str, Asset] = {a.name: a for a in (*universe(size), *FUTURES_ONLY)}
        self.instruments: dict[str, Instrument] = {}
        self._by_market: dict[str, dict[str, Instrument]] = {}
        for market in MARKETS.values():
            for asset in self.assets.values():
                found = listing(market, asset)
                if found is not None:
                    self.instruments[found.id] = found
                    self._by_market.setdefault(market.name, {})[found.symbol] = found

    def instrument(self, key: str) -> Instrument:
        """The instrument an id (or a bare Binance spot symbol) names; unknown ones are refused by name."""
        try:
            return self.instruments[parse_key(key)]
        except KeyError:
            raise UnknownSymbolError(
                f"{key!r} is not listed by the simulated exchange (universe of {self.size} assets); e.g. "
                f"{', '.join(list(self.instruments)[:3])}"
            ) from None

    def of_market(self, market: str) -> dict[str, Instrument]:
        """Instruments of one venue market, by their venue symbol."""
        return dict(self._by_market.get(market, {}))

    def on(self, market: str, asset: str) -> str:
        """Id of the asset's instrument on `market` (its price path exists even where the market does not list it)."""
        return instrument_id(market, MARKETS[market].symbol(asset))
