"""Venues, markets and instruments: what can be traded, and how an instrument is named everywhere.

An instrument is `<venue>.<market>.<SYMBOL>`, e.g. `binance.spot.BTCUSDT`. The symbol is the venue's own spelling, so
a request to the venue needs no lookup table; the venue and market in front make it unique across the platform.
The form is chosen to survive every place a name travels: Dagster partition keys (no `|`, `,` or `...`), URLs and file
paths (no `/`), Kafka keys, and ArangoDB `_key`s (letters, digits, `.`, `-`). A market is declared once in `MARKETS`;
everything else (partitions, topics' keys, store partitions, the live loader's routing) takes the instrument's id.

`binance.spot` is the default market of a bare symbol: `streamforge symbols add BTCUSDT` means
`streamforge instruments add binance.spot.BTCUSDT`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streamforge.errors import ConfigError

SPOT, PERPETUAL = "spot", "perpetual"
# What a market promises of its trade ids (the `trades` asset checks exactly that): Binance's aggregate trade ids are
# contiguous per symbol; OKX only orders its trade ids (it pages by them) and documents no contiguity.
CONTIGUOUS, INCREASING = "contiguous", "increasing"


@dataclass(frozen=True)
class Market:
    """A market of a venue: its kind and the shape of its symbols."""

    venue: str
    name: str
    kind: str
    description: str
    symbol_pattern: str  # a full match of the venue's symbol
    client: str  # "module:class" of its `streamforge.venues.market.MarketClient`, imported when first used
    feed: str  # "module:class" of its `streamforge.live.feed.Feed` (the live streams), imported when first used
    url_settings: tuple[str, str, str]  # the settings naming its REST, dump-file and WebSocket base URLs
    trade_ids: str = CONTIGUOUS
    spot: str | None = None  # perpetuals: the market whose instrument of the same symbol is its spot (the basis)

    @property
    def id(self) -> str:
        return f"{self.venue}.{self.name}"

    def instrument(self, symbol: str) -> Instrument:
        return parse_instrument(f"{self.id}.{symbol}")


MARKETS: dict[str, Market] = {
    m.id: m
    for m in [
        Market(
            "binance", "spot", SPOT, "Binance spot", r"[A-Z0-9]{2,20}", "streamforge.venues.binance.spot:BinanceSpot",
            "streamforge.venues.binance.live:BinanceSpotFeed",
            ("STREAMFORGE_REST_URL", "STREAMFORGE_DUMP_URL", "STREAMFORGE_WS_URL"),
        ),
        Market(
            "binance", "usdm", PERPETUAL, "Binance USD-M perpetual futures", r"[A-Z0-9]{2,20}",
            "streamforge.venues.binance.usdm.client:BinanceUsdm", "streamforge.venues.binance.usdm.live:BinanceUsdmFeed",
            ("STREAMFORGE_USDM_REST_URL", "STREAMFORGE_USDM_DUMP_URL", "STREAMFORGE_USDM_WS_URL"),
            spot="binance.spot",
        ),
        *(
            Market(
                "okx", name, kind, description, pattern, f"streamforge.venues.okx.client:{cls}",
                "streamforge.venues.okx.live:OkxFeed",
                ("STREAMFORGE_OKX_REST_URL", "STREAMFORGE_OKX_FILES_URL", "STREAMFORGE_OKX_WS_URL"), INCREASING,
            )
            for name, kind, description, pattern, cls in (
                ("spot", SPOT, "OKX spot", r"[A-Z0-9]{1,15}-[A-Z0-9]{1,15}", "OkxSpot"),
                ("swap", PERPETUAL, "OKX perpetual swap", r"[A-Z0-9]{1,15}-[A-Z0-9]{1,15}-SWAP", "OkxSwap"),
            )
        ),
    ]
}
PERPETUAL_MARKETS = frozenset(m.id for m in MARKETS.values() if m.kind == PERPETUAL)
DEFAULT_MARKET = "binance.spot"

_FORM = re.compile(r"(?P<venue>[a-z][a-z0-9]*)\.(?P<market>[a-z][a-z0-9]*)\.(?P<symbol>[A-Z0-9][A-Z0-9-]{0,39})")


@dataclass(frozen=True, order=True)
class Instrument:
    venue: str
    market: str
    symbol: str

    @property
    def id(self) -> str:
        return f"{self.venue}.{self.market}.{self.symbol}"

    @property
    def market_id(self) -> str:
        return f"{self.venue}.{self.market}"

    def __str__(self) -> str:
        return self.id


def check_form(text: str) -> str:
    """`text` when it has an instrument's form, whichever market: what stores need to know that a name is safe as a
    folder, file and document key. A ConfigError naming the expected form otherwise."""
    if not (isinstance(text, str) and _FORM.fullmatch(text)):
        raise ConfigError(
            f"{text!r} is not an instrument: expected <venue>.<market>.<SYMBOL>, e.g. binance.spot.BTCUSDT "
            f"(markets: {', '.join(MARKETS)})"
        )
    return text


def parse_instrument(text: str) -> Instrument:
    """`binance.spot.BTCUSDT` → Instrument; a ConfigError naming the expected form and the known markets otherwise."""
    match = _FORM.fullmatch(check_form(text))
    market = MARKETS.get(f"{match['venue']}.{match['market']}")
    if market is None:
        raise ConfigError(f"{text!r}: unknown market {match['venue']}.{match['market']}; known: {', '.join(MARKETS)}")
    if not re.fullmatch(market.symbol_pattern, match["symbol"]):
        raise ConfigError(f"{text!r}: {match['symbol']!r} is not a {market.description} symbol ({market.symbol_pattern})")
    return Instrument(match["venue"], match["market"], match["symbol"])


def resolve(names: list[str], default_market: str = DEFAULT_MARKET) -> list[Instrument]:
    """Instrument ids and bare symbols as a user types them: a bare symbol (`ETHUSDT`) belongs to the market of the
    instrument named before it, or to `default_market` when none was — so `binance.spot.BTCUSDT ETHUSDT` is two
    Binance spot instruments. Duplicates are dropped, order kept."""
    market = default_market
    resolved: list[Instrument] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if "." in name:
            instrument = parse_instrument(name)
            market = instrument.market_id
        else:
            instrument = parse_instrument(f"{market}.{name.upper()}")
        if instrument not in resolved:
            resolved.append(instrument)
    return resolved


def instrument_id(name: str, default_market: str = DEFAULT_MARKET) -> str:
    """One name as a user types it — an instrument id, or a bare symbol of `default_market` — as an instrument id."""
    if not name.strip():
        raise ConfigError("no instrument given: expected <venue>.<market>.<SYMBOL>, e.g. binance.spot.BTCUSDT")
    return resolve([name], default_market)[0].id


def market_of(instrument_id: str) -> Market:
    return MARKETS[parse_instrument(instrument_id).market_id]


def spot_of(instrument_id: str) -> str:
    """The spot instrument a perpetual is compared with (same symbol on its market's `spot` market), which its venue
    need not list (Binance's multiplier contracts, e.g. 1000PEPEUSDT, are USD-M only); a ConfigError for an
    instrument that is not a perpetual."""
    instrument = parse_instrument(instrument_id)
    market = MARKETS[instrument.market_id]
    if market.spot is None:
        raise ConfigError(f"{instrument_id} is not a perpetual: it has no spot instrument to compare with")
    return f"{market.spot}.{instrument.symbol}"
