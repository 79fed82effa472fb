"""Instruments: an asset listed on one market of one venue, named `<venue>.<market>.<SYMBOL>`.

`binance.spot.BTCUSDT`, `binance.usdm.BTCUSDT`, `okx.spot.BTC-USDT` and `okx.swap.BTC-USDT-SWAP` are four instruments
of one asset, BTC. The id is the name the rest of StreamForge partitions by (venue and market lower case letters,
symbol `[A-Z0-9][A-Z0-9-]*`); a bare Binance spot symbol (`BTCUSDT`) is accepted as the shorthand of
`binance.spot.BTCUSDT` wherever the simulator takes an instrument, so the Binance spot wire code keeps speaking
symbols.

An instrument exists from its listing day on (before it, no venue list shows it) and trades until its delisting day;
from then on it is listed with status BREAK and has no trades, klines or book. Both days start at 00:00 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.instruments import DEFAULT_MARKET, check_form

TRADING = "TRADING"
BREAK = "BREAK"

BINANCE_SPOT = "binance.spot"
#: The venue market a bare symbol belongs to.
SHORTHAND_MARKET = DEFAULT_MARKET


@dataclass(frozen=True)
class Instrument:
    """A listed instrument as a venue's instrument list describes it, plus how busy it is.

    Quantities are in the base asset throughout; `contract_size` (OKX's ctVal, 1 elsewhere) is what a venue that
    counts contracts divides them by, and `step_size` is a whole number of contracts so that division is exact.
    """

    venue: str
    market: str
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: float
    step_size: float
    median_qty: float  # typical fill size in base asset
    agg_trades_per_day: int  # typical weekday at volume 1.0
    listed: date | None = None  # first trading day; None: trading since before the simulated history
    delisted: date | None = None  # first day without trading; None: never
    contract_size: float = 1.0
    funding_hours: int = 0  # perpetuals: hours between funding settlements (0: not a perpetual)

    @property
    def id(self) -> str:
        return f"{self.venue}.{self.market}.{self.symbol}"

    @property
    def venue_market(self) -> str:
        return f"{self.venue}.{self.market}"

    @property
    def random_key(self) -> str:
        """What its random draws are keyed by: Binance spot keeps the bare symbol, so the first simulator's symbols
        draw the same numbers as before instruments existed."""
        return self.symbol if self.venue_market == SHORTHAND_MARKET else self.id

    @property
    def perpetual(self) -> bool:
        return self.funding_hours > 0

    def exists_on(self, day: date) -> bool:
        return self.listed is None or day >= self.listed

    def trading_on(self, day: date) -> bool:
        return self.exists_on(day) and (self.delisted is None or day < self.delisted)

    def status_on(self, day: date) -> str | None:
        """TRADING, BREAK, or None before the listing day (the instrument does not exist yet)."""
        if not self.exists_on(day):
            return None
        return TRADING if self.trading_on(day) else BREAK


def instrument_id(venue_market: str, symbol: str) -> str:
    return f"{venue_market}.{symbol}"


def parse_key(key: str) -> str:
    """The instrument id a key names: an id as it is, a bare symbol as a Binance spot id; anything else refused."""
    try:
        return check_form(key if "." in key else instrument_id(SHORTHAND_MARKET, key))
    except ConfigError as error:
        raise UnknownSymbolError(f"{error}, or a bare Binance spot symbol") from None


def decimals(increment: float) -> int:
    """Number of decimals of a tick or step size (0.01 -> 2, 1.0 -> 0)."""
    text = f"{increment:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0
