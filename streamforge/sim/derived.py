"""Prices of derived instruments: a reference market's price, shifted in time, plus a mean-reverting basis.

For an instrument on a market whose reference is another market (`universe.MARKETS`):

    log p(t) = log p_reference(t - lag) + mean + regime(t) + basis(t)

where `basis` is an AR(1) at 1-second steps (an Ornstein-Uhlenbeck process) with a stationary standard deviation
and a half-life, and `regime` a slow AR(1) at daily steps (half-life REGIME_HALF_LIFE_DAYS, read between midnights
by linear interpolation) — the days-long premium swings that make funding move — both drawn from the instrument's
own keys. A positive lag trails the reference, a negative one leads it. Paths are 86,401 points per day, one per
second boundary; a shifted path reads the neighbouring day's reference path across midnight, and the basis of the
day's last point is the next day's first, so days join up exactly.

Two models drive the derived markets, each one setting (`name=value,…`, unnamed values keep their defaults):

* `STREAMFORGE_SIM_PERP` — perpetuals (`binance.usdm`) against Binance spot: `lead_ms` (the perpetual leads spot by
  this much; negative trails), `premium_bps` (the basis' mean), `basis_bps` (its standard deviation),
  `half_life_s` (how fast it reverts) and `regime_bps` (standard deviation of the slow premium swings). Funding
  settles from this premium (`perps`).
* `STREAMFORGE_SIM_OKX` — OKX against Binance, the same asset on another venue: `lag_ms` (OKX trails Binance by this
  much; negative leads), `basis_bps` and `half_life_s` of the cross-venue basis (mean 0). OKX spot derives from
  Binance spot and OKX swaps from Binance perpetuals, so OKX swaps carry both the perpetual premium and the venue
  basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date

import numpy as np

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.sim.calendar import N_DAYS, S_PER_DAY, day_index
from streamforge.sim.prices import KERNEL_HALF_LIVES, ar1
from streamforge.sim.seeding import generator

BPS = 1e-4
REGIME_HALF_LIFE_DAYS = 3.0
_POINTS = np.arange(S_PER_DAY + 1, dtype=np.float64)


@dataclass(frozen=True)
class Derivation:
    """How one market's prices follow its reference market's: `lag_ms` and an AR(1) basis (in basis points)."""

    lag_ms: int = 0
    mean_bps: float = 0.0
    std_bps: float = 0.0
    half_life_s: float = 60.0
    regime_bps: float = 0.0

    def __post_init__(self) -> None:
        if abs(self.lag_ms) >= 3_600_000 or min(self.std_bps, self.regime_bps) < 0 or self.half_life_s <= 0:
            raise ConfigError(
                f"derived price model {self}: need |lag| under an hour, standard deviations >= 0 and a positive "
                "half-life"
            )

    def regime(self, seed: int, key: str) -> np.ndarray:
        """The slow premium (log) at 00:00 UTC of every day since EPOCH, one extra day for the last day's end."""
        phi = 0.5 ** (1.0 / REGIME_HALF_LIFE_DAYS)
        warm = int(KERNEL_HALF_LIVES * REGIME_HALF_LIFE_DAYS)
        noise = generator(seed, key, "regime").standard_normal(N_DAYS + 1 + warm)
        kernel = phi ** np.arange(warm) * (np.sqrt(1 - phi * phi) * self.regime_bps * BPS)
        return np.convolve(noise, kernel)[warm : warm + N_DAYS + 1]

    def log_path(self, seed: int, key: str, day: date, reference: Neighbours, regime: np.ndarray) -> np.ndarray:
        """The day's log path from the reference's paths around it and the `regime` of every day; `key` keys the
        basis' random draws."""
        i = day_index(day)
        offset = self.mean_bps * BPS + regime[i] + (regime[i + 1] - regime[i]) * (_POINTS / S_PER_DAY)
        if self.std_bps:
            offset += ar1(seed, key, "basis", day, self.half_life_s, self.std_bps * BPS, points=S_PER_DAY + 1)
        return shift(reference, self.lag_ms / 1000) + offset


#: A reference's log paths of (yesterday, today, tomorrow); a neighbour the shift does not reach may be None.
Neighbours = tuple[np.ndarray | None, np.ndarray, np.ndarray | None]


def shift(paths: Neighbours, lag_s: float) -> np.ndarray:
    """Today's reference path read `lag_s` seconds earlier at each second boundary (later for a negative lag),
    interpolated linearly between the reference's 1-second points."""
    yesterday, today, tomorrow = paths
    if lag_s == 0:
        return today
    reach = math.ceil(abs(lag_s)) + 1
    if lag_s > 0:
        grid, start = np.concatenate([yesterday[S_PER_DAY - reach : S_PER_DAY], today]), -reach
    else:
        grid, start = np.concatenate([today, tomorrow[1 : reach + 1]]), 0
    return np.interp(_POINTS - lag_s, np.arange(grid.size, dtype=np.float64) + start, grid)


@dataclass(frozen=True)
class PriceModels:
    """The derived markets' models (see the module docstring): perpetuals against spot, OKX against Binance."""

    perp: Derivation
    okx: Derivation

    @classmethod
    def parse(cls, perp: str = "", okx: str = "") -> PriceModels:
        """From the STREAMFORGE_SIM_PERP and STREAMFORGE_SIM_OKX syntax; names not given keep their defaults."""
        p, o = _values("STREAMFORGE_SIM_PERP", perp), _values("STREAMFORGE_SIM_OKX", okx)
        return cls(
            perp=Derivation(-int(p["lead_ms"]), p["premium_bps"], p["basis_bps"], p["half_life_s"], p["regime_bps"]),
            okx=Derivation(int(o["lag_ms"]), 0.0, o["basis_bps"], o["half_life_s"]),
        )

    @classmethod
    def from_settings(cls) -> PriceModels:
        return cls.parse(settings.get("STREAMFORGE_SIM_PERP"), settings.get("STREAMFORGE_SIM_OKX"))

    def of(self, market: str) -> Derivation:
        """The model of a derived venue market."""
        return self.perp if market == "binance.usdm" else self.okx

    @property
    def key(self) -> str:
        """Names the models' values (part of the market's key)."""
        return "-".join(f"{getattr(m, f.name):g}" for m in (self.perp, self.okx) for f in fields(m))


def _values(setting: str, text: str) -> dict[str, float]:
    defaults = settings.pairs(setting, settings.SETTINGS[setting].default)
    given = settings.pairs(setting, text)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"{setting}: unknown names {unknown}; known: {sorted(defaults)}")
    try:
        return {name: float(value) for name, value in (defaults | given).items()}
    except ValueError:
        raise ConfigError(f"{setting}={text!r}: every value must be a number") from None
