"""Prices of derived instruments: a reference market's price, shifted in time, plus a mean-reverting basis.

For an instrument on a market whose reference is another market (`universe.MARKETS`):

    log p(t) = log p_reference(t - lag) + mean + basis(t)

where `basis` is an AR(1) at 1-second steps (an Ornstein-Uhlenbeck process) with a stationary standard deviation
and a half-life, drawn from the instrument's own keys. A positive lag trails the reference, a negative one leads
it. Paths are 86,401 points per day, one per second boundary; a shifted path reads the neighbouring day's reference
path across midnight, and the basis of the day's last point is the next day's first, so days join up exactly.

Two models drive the derived markets, each one setting (`name=value,…`, unnamed values keep their defaults):

* `STREAMFORGE_SIM_PERP` — perpetuals (`binance.usdm`) against Binance spot: `lead_ms` (the perpetual leads spot by
  this much; negative trails), `premium_bps` (the basis' mean), `basis_bps` (its standard deviation) and
  `half_life_s` (how fast it reverts). Funding settles from this premium (`perps`).
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
from streamforge.sim.calendar import S_PER_DAY
from streamforge.sim.prices import ar1

BPS = 1e-4
_POINTS = np.arange(S_PER_DAY + 1, dtype=np.float64)


@dataclass(frozen=True)
class Derivation:
    """How one market's prices follow its reference market's: `lag_ms` and an AR(1) basis (in basis points)."""

    lag_ms: int = 0
    mean_bps: float = 0.0
    std_bps: float = 0.0
    half_life_s: float = 60.0

    def __post_init__(self) -> None:
        if abs(self.lag_ms) >= 3_600_000 or self.std_bps < 0 or self.half_life_s <= 0:
            raise ConfigError(
                f"derived price model {self}: need |lag| under an hour, a basis standard deviation >= 0 and a "
                "positive half-life"
            )

    def log_path(self, seed: int, key: str, day: date, reference: Neighbours) -> np.ndarray:
        """The day's log path from the reference's paths around it; `key` keys the basis' random draws."""
        shifted = shift(reference, self.lag_ms / 1000)
        if self.std_bps == 0:
            return shifted + self.mean_bps * BPS
        basis = ar1(seed, key, "basis", day, self.half_life_s, self.std_bps * BPS, points=S_PER_DAY + 1)
        return shifted + (self.mean_bps * BPS + basis)


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
            perp=Derivation(-int(p["lead_ms"]), p["premium_bps"], p["basis_bps"], p["half_life_s"]),
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
