"""The simulated market's assets and how each one's price moves: the cross-section of the universe.

An asset (BTC, ETH, …) has one price process; its instruments on every venue derive their prices from it (see
`universe` and `derived`). The universe is a prefix of one fixed, ordered list, so `universe(7)` is the first seven
entries of `universe(200)` and an asset's data never depends on the universe's size:

* **The core seven** keep the roles the demo and the tests rely on: BTC is the market, ETH and BNB follow it by one
  lag step and SOL by two (a planted lead-lag group), XRP and DOGE move on their own, and LUNA is listed but delisted
  before the simulated history starts (status BREAK, never trades). Price levels, tick and step sizes are Binance's
  of early 2025.
* **Generated assets** (index 7 on) make the cross-section realistic. Activity is heavy-tailed (aggregate trades per
  day fall as a power of the activity rank: BTCUSDT ~1.6M, the 200th a few thousand). Each belongs to a sector and
  moves with the market (BTC's returns) and its sector's factor by its betas, plus volatility-clustered returns of its
  own. In each sector the most active member leads a planted lead-lag group: some later members follow it by one or
  two lag steps instead of moving with the market directly. Some assets are listed, and a few delisted, on known dates
  across 2019-2027.
* **Futures-only assets** (`FUTURES_ONLY`) are in every universe, outside the ranking: Binance USD-M's multiplier
  contracts, whose base asset is a thousand units of a cheap coin (`1000PEPE`, 1000PEPEUSDT's baseAsset on fapi).
  Binance spot lists the coin itself (PEPEUSDT), never the multiple, so no spot market lists them; their perpetual is
  their only instrument.

The composition (names, sectors, betas, groups, dates) is the same for every seed — it is keyed by `UNIVERSE_KEY` and
the asset's index — so a universe's symbols and dates are known in advance; the seed only draws the prices and trades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from streamforge.errors import ConfigError
from streamforge.sim.calendar import EPOCH
from streamforge.sim.seeding import generator

#: The asset whose returns are the market factor.
MARKET_ASSET = "BTC"
QUOTE = "USDT"
#: Largest universe the simulator generates (names, prices and activity stay plausible up to here).
MAX_UNIVERSE = 1000
UNIVERSE_KEY = "universe-v1"

#: Sectors of generated assets and their relative frequency.
SECTORS = {"layer1": 4, "layer2": 2, "defi": 4, "ai": 2, "gaming": 2, "meme": 3, "infra": 2, "payments": 1}
#: Standard deviation of a sector factor's daily log return.
SECTOR_VOL = 0.02
#: Aggregate trades per day of generated assets fall as BTC's x (index + 1) ** -ACTIVITY_POWER, never below
#: MIN_ACTIVITY: index 199 (the 200th asset) gets ~3,000.
ACTIVITY_POWER = 1.185
MIN_ACTIVITY = 2_000
#: Share of generated sector members (not the group leader) that follow the leader with a lag.
FOLLOWER_SHARE = 0.3
#: Shares of generated assets (not group leaders) listed during the simulated history, and delisted later.
LISTED_LATE_SHARE = 0.3
DELISTED_SHARE = 0.08
LISTINGS_FROM, LISTINGS_TO = date(2019, 1, 1), date(2027, 12, 31)
#: A delisted asset has traded at least this long.
MIN_TRADING_DAYS = 90


@dataclass(frozen=True)
class Asset:
    """An asset, its Binance spot listing, and how its 1-second log returns are built:

        r(t) = idio(t) + market_beta * r_BTC(t) + sector_beta * f_sector(t) + leader_beta * r_leader(t - lag)

    `idio` has standard deviation `idio_vol` per day with clustered volatility; `lag` is `lag_tier` times the base
    lag, jittered per day (`prices.lag_s`). `daily_vol` is the volatility of the daily anchors the day's path is
    bridged to (`prices.anchor_log_prices`).
    """

    name: str
    sector: str
    price_2025: float  # anchor price on 2025-01-01; other days wander around it
    daily_vol: float
    agg_trades_per_day: int  # on Binance spot, a typical weekday at volume 1.0
    median_qty: float  # typical fill size in base asset
    tick_size: float  # Binance spot's
    step_size: float
    idio_vol: float
    market_beta: float = 0.0
    sector_beta: float = 0.0
    leader: str | None = None
    leader_beta: float = 0.0
    lag_tier: int = 0
    listed: date | None = None  # first trading day; None: since before the simulated history
    delisted: date | None = None  # first day without trading
    only_on: str | None = None  # the one venue market that lists it; None: every market it is busy enough for

    @property
    def key(self) -> str:
        """What its random draws are keyed by: its Binance spot symbol (the first simulator's keys)."""
        return self.name + QUOTE

    @property
    def follows(self) -> bool:
        return self.leader is not None


CORE: tuple[Asset, ...] = (
    Asset("BTC", "market", 94_000.0, 0.025, 1_600_000, 0.002, 0.01, 0.00001, idio_vol=0.025),
    Asset("ETH", "layer1", 3_350.0, 0.03, 900_000, 0.05, 0.01, 0.0001, idio_vol=0.0125, leader="BTC", leader_beta=1.0, lag_tier=1),
    Asset("BNB", "exchange", 700.0, 0.025, 250_000, 0.2, 0.01, 0.001, idio_vol=0.0125, leader="BTC", leader_beta=1.0, lag_tier=1),
    Asset("SOL", "layer1", 190.0, 0.04, 600_000, 1.0, 0.01, 0.001, idio_vol=0.0125, leader="BTC", leader_beta=1.0, lag_tier=2),
    Asset("XRP", "payments", 2.1, 0.04, 450_000, 150.0, 0.0001, 0.1, idio_vol=0.04),
    Asset("DOGE", "meme", 0.32, 0.045, 350_000, 900.0, 0.00001, 1.0, idio_vol=0.045),
    Asset("LUNA", "layer1", 0.5, 0.05, 0, 10.0, 0.0001, 0.01, idio_vol=0.05, delisted=EPOCH),
)


#: 1000PEPEUSDT as fapi lists it (pricePrecision 7, quantityPrecision 0, onboardDate 2023-05-05): 1000 PEPE at about
#: $0.0185 on 2025-01-01, a meme coin moving with the market. Its tick and step are its perpetual's, and its activity is
#: what it would have on Binance spot (the perpetual trades `binance.usdm`'s multiple of it).
FUTURES_ONLY: tuple[Asset, ...] = (
    Asset("1000PEPE", "meme", 0.0185, 0.06, 120_000, 8_000.0, 0.0000001, 1.0, idio_vol=0.04, market_beta=1.3,
          sector_beta=1.0, listed=date(2023, 5, 5), only_on="binance.usdm"),
)


def universe(size: int) -> tuple[Asset, ...]:
    """The first `size` assets, most active first (the core seven, then generated ones)."""
    if not len(CORE) <= size <= MAX_UNIVERSE:
        raise ConfigError(f"simulator universe must be between {len(CORE)} and {MAX_UNIVERSE} assets, got {size}")
    assets = list(CORE)
    names = {a.name for a in assets}
    sector_leaders: dict[str, str] = {}
    for index in range(len(CORE), size):
        asset = _generated(index, names, sector_leaders)
        names.add(asset.name)
        sector_leaders.setdefault(asset.sector, asset.name)
        assets.append(asset)
    return tuple(assets)


def _generated(index: int, taken: set[str], sector_leaders: dict[str, str]) -> Asset:
    rng = generator(UNIVERSE_KEY, index)
    sector = str(rng.choice(list(SECTORS), p=np.array(list(SECTORS.values())) / sum(SECTORS.values())))
    price = 10 ** float(np.clip(rng.normal(-0.3, 1.2), -5.0, 3.7))
    tick = max(10.0 ** (math.floor(math.log10(price)) - 4), 1e-8)
    step = min(10.0 ** math.ceil(math.log10(0.1 / price)), 1.0)
    notional = rng.lognormal(math.log(150.0), 0.5)
    activity = CORE[0].agg_trades_per_day * (index + 1) ** -ACTIVITY_POWER * rng.lognormal(0.0, 0.25)
    leader = sector_leaders.get(sector)
    follows = leader is not None and rng.random() < FOLLOWER_SHARE
    listed, delisted = _listing(rng) if leader is not None else (None, None)
    return Asset(
        name=_name(rng, taken),
        sector=sector,
        price_2025=float(f"{price:.4g}"),
        daily_vol=float(rng.uniform(0.04, 0.08)),
        agg_trades_per_day=max(int(activity), MIN_ACTIVITY),
        median_qty=round(max(round(notional / price / step), 1) * step, 8),
        tick_size=tick,
        step_size=step,
        idio_vol=float(rng.uniform(0.015, 0.04)),
        market_beta=0.0 if follows else float(rng.uniform(0.6, 1.4)),
        sector_beta=0.0 if follows else float(rng.uniform(0.6, 1.4)),
        leader=leader if follows else None,
        leader_beta=float(rng.uniform(0.7, 1.2)) if follows else 0.0,
        lag_tier=int(rng.choice([1, 2], p=[0.6, 0.4])) if follows else 0,
        listed=listed,
        delisted=delisted,
    )


def _listing(rng: np.random.Generator) -> tuple[date | None, date | None]:
    """Listing and delisting days of a generated asset that does not lead a group (leaders trade throughout)."""
    span = (LISTINGS_TO - LISTINGS_FROM).days
    listed = LISTINGS_FROM + timedelta(days=int(rng.integers(span))) if rng.random() < LISTED_LATE_SHARE else None
    if rng.random() >= DELISTED_SHARE:
        return listed, None
    first = (listed or LISTINGS_FROM) + timedelta(days=MIN_TRADING_DAYS)
    if first >= LISTINGS_TO:
        return listed, None
    return listed, first + timedelta(days=int(rng.integers((LISTINGS_TO - first).days)))


_CONSONANTS, _VOWELS = "BCDFGHJKLMNPRSTVXZ", "AEIOU"


def _name(rng: np.random.Generator, taken: set[str]) -> str:
    """A pronounceable ticker of 3 to 5 letters that no earlier asset has."""
    while True:
        letters = [rng.choice(list(_CONSONANTS if i % 2 == 0 else _VOWELS)) for i in range(int(rng.integers(3, 6)))]
        name = "".join(letters)
        if name not in taken:
            return name
