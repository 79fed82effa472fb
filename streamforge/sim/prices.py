"""Asset prices: daily anchors, stochastic volatility at 1-second resolution, factors and the planted lead-lag.

How a day's price path of an asset is built, and why this way:

* **Anchors.** Each asset's log price at 00:00 UTC of every day is a cheap random walk over all days since EPOCH
  (one vectorised cumsum), pinned to a realistic 2025 level. A day's path is a bridge from today's anchor to
  tomorrow's, so any day can be generated alone and consecutive days still join up exactly.
* **Volatility clustering.** Log-volatility is the sum of a slow (hours) and a fast (minutes) AR(1) process at
  1-second steps. An AR(1) is an exponentially weighted sum of its innovations, so it is computed as one FFT
  convolution over the day's innovations and as many of the days before as its kernel reaches: vectorised, and
  continuous across midnight.
* **Seasonality.** Variance follows intraday activity (busiest around 14:00 UTC, US/EU overlap).
* **Factors and lead-lag** (`Asset` says the formula). BTC's 1-second returns are the market factor; each sector has
  a factor of its own. A follower's return is `leader_beta * leader_return(t - lag) + idio`, with idio volatility
  `idio_vol`, so followers inherit the leader's volatility with the same lag. The lag is `lag_tier` steps of
  `LeadLag.lag_s`, plus a jitter drawn per asset and day: off the 5-minute grid and different every day, as real
  lead-lag is. In the control market (`LeadLag.planted == False`) every lag is 0: same correlation, no lead.

`AssetPrices` memoises what many assets share (the market and sector factors, a leader's returns), so every asset's
day is still a pure function of its key, whichever assets were generated before.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.sim.assets import MARKET_ASSET, SECTOR_VOL, Asset
from streamforge.sim.calendar import MICROSECOND_DUMPS_FROM, N_DAYS, S_PER_DAY, day_index
from streamforge.sim.memo import Memo
from streamforge.sim.seeding import day_generator, generator

#: (half-life in seconds, stationary standard deviation) of the log-volatility components.
VOL_COMPONENTS = ((7_200.0, 0.35), (120.0, 0.30))
#: Amplitude of the intraday activity cycle and the hour of its peak (UTC).
SEASON_AMPLITUDE = 0.4
SEASON_PEAK_HOUR = 14.0

#: An AR(1) kernel is cut after this many half-lives (weight 2^-10 ~ 0.1%).
KERNEL_HALF_LIVES = 10

_SECONDS = np.arange(S_PER_DAY, dtype=np.float64)


@functools.cache
def seasonality() -> np.ndarray:
    """Relative activity per second of the day, mean 1 (read-only, shared)."""
    phase = 2 * np.pi * (_SECONDS / S_PER_DAY - SEASON_PEAK_HOUR / 24)
    values = 1.0 + SEASON_AMPLITUDE * np.cos(phase)
    values.flags.writeable = False
    return values


@functools.cache
def _sqrt_seasonality() -> np.ndarray:
    values = np.sqrt(seasonality())
    values.flags.writeable = False
    return values


def _kernel_length(half_life_s: float) -> int:
    """The AR(1)'s kernel is cut after KERNEL_HALF_LIVES half-lives."""
    return max(int(KERNEL_HALF_LIVES * half_life_s), 1)


@functools.cache
def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFTs of such sizes are fast, and much closer to n than the next power of 2."""
    best, five = 1 << n.bit_length(), 1
    while five < best:
        three = five
        while three < best:
            two = three
            while two < n:
                two *= 2
            best, three = min(best, two), three * 3
        five *= 5
    return best


@functools.lru_cache(maxsize=32)
def _kernel_spectrum(half_life_s: float, length: int, size: int) -> np.ndarray:
    phi = 0.5 ** (1.0 / half_life_s)
    return np.fft.rfft(phi ** np.arange(length, dtype=np.float64), size)


def ar1(seed: int, key: str, purpose: str, day: date, half_life_s: float, std: float, points: int = S_PER_DAY) -> np.ndarray:
    """The day's values, one per second, of a stationary AR(1) with innovations keyed per day by (key, purpose).

    x_t = phi * x_{t-1} + sqrt(1 - phi^2) * std * e_t is an exponentially weighted sum of innovations; the days before
    warm it up so that the process is stationary and continuous at midnight. `points = S_PER_DAY + 1` also gives the
    value at the next midnight (the next day's first value), for paths that need both ends of the day.
    """
    length = _kernel_length(half_life_s)
    warm_days = -(-(length - 1) // S_PER_DAY)
    days = [day - timedelta(days=back) for back in range(warm_days, 0, -1)] + [day]
    noise = [day_generator(seed, key, purpose, d).standard_normal(S_PER_DAY) for d in days]
    if points > S_PER_DAY:
        noise.append(day_generator(seed, key, purpose, day + timedelta(days=1)).standard_normal(points - S_PER_DAY))
    tail = np.concatenate(noise)[warm_days * S_PER_DAY - (length - 1) :]
    phi = 0.5 ** (1.0 / half_life_s)
    size = _fft_size(tail.size + length - 1)
    spectrum = np.fft.rfft(tail * (np.sqrt(1 - phi * phi) * std), size) * _kernel_spectrum(half_life_s, length, size)
    return np.fft.irfft(spectrum, size)[length - 1 : length - 1 + points]


def log_volatility(seed: int, key: str, day: date) -> np.ndarray:
    """Log of the volatility multiplier per second, stationary with E[exp(2 h)] = 1."""
    total = sum(ar1(seed, key, f"vol{i}", day, half_life, std) for i, (half_life, std) in enumerate(VOL_COMPONENTS))
    return total - sum(std * std for _, std in VOL_COMPONENTS)


def own_returns(seed: int, key: str, day: date, scale: float) -> np.ndarray:
    """1-second log returns driven by the key's own volatility process, with per-day standard deviation `scale`."""
    sigma = scale / np.sqrt(S_PER_DAY) * np.exp(log_volatility(seed, key, day)) * _sqrt_seasonality()
    return sigma * day_generator(seed, key, "returns", day).standard_normal(S_PER_DAY)


def anchor_log_prices(seed: int, asset: Asset) -> np.ndarray:
    """Log price at 00:00 UTC of every day since EPOCH (one extra day so that the last day has a tomorrow)."""
    steps = generator(seed, asset.key, "anchors").standard_normal(N_DAYS + 1) * asset.daily_vol
    walk = np.concatenate([[0.0], np.cumsum(steps[:-1])])
    return np.log(asset.price_2025) + walk - walk[day_index(MICROSECOND_DUMPS_FROM)]


def log_price_path(anchors: np.ndarray, day: date, returns: np.ndarray) -> np.ndarray:
    """Log price at each second boundary of the day, 86,401 points from today's anchor to tomorrow's."""
    i = day_index(day)
    cumulative = np.concatenate([[0.0], np.cumsum(returns)])
    gap = (anchors[i + 1] - anchors[i]) - cumulative[-1]
    return anchors[i] + cumulative + gap * (np.arange(S_PER_DAY + 1) / S_PER_DAY)


@dataclass(frozen=True)
class LeadLag:
    """The planted lead-lag: a follower of lag tier k trails its leader by k * lag_s seconds plus a jitter drawn
    uniformly from [-jitter_s, jitter_s] per follower and day. `planted=False` is the control market."""

    planted: bool = True
    lag_s: int = int(settings.SETTINGS["STREAMFORGE_SIM_LAG_S"].default)
    jitter_s: int = int(settings.SETTINGS["STREAMFORGE_SIM_LAG_JITTER_S"].default)

    def __post_init__(self) -> None:
        if not 0 <= self.jitter_s <= self.lag_s or 2 * self.lag_s + self.jitter_s >= S_PER_DAY:
            raise ConfigError(
                f"simulator lead-lag: need 0 <= jitter ({self.jitter_s} s) <= lag ({self.lag_s} s) and a second-tier "
                "lag under a day"
            )

    @property
    def key(self) -> str:
        return f"lag{self.lag_s}j{self.jitter_s}" if self.planted else "control"


def lag_s(seed: int, asset: Asset, day: date, lead_lag: LeadLag) -> int:
    """Seconds by which `asset` trails its leader on `day` (0 for an asset that follows no one, and in the control)."""
    if not asset.follows or not lead_lag.planted:
        return 0
    jitter = day_generator(seed, asset.key, "lag", day).integers(-lead_lag.jitter_s, lead_lag.jitter_s + 1)
    return asset.lag_tier * lead_lag.lag_s + int(jitter)


class AssetPrices:
    """Every asset's 1-second returns and log price path per day, memoised (read-only arrays)."""

    def __init__(self, seed: int, assets: dict[str, Asset], lead_lag: LeadLag) -> None:
        self.seed, self.assets, self.lead_lag = seed, assets, lead_lag
        # Room for two days (yesterday and today, or a day and its neighbour) of every asset: a live stream of the
        # whole universe asks for all of them on every tick, and a memo smaller than that regenerates them in turn.
        days = 2 * len(assets)
        self._returns: Memo[np.ndarray] = Memo(self._compute_returns, maxsize=max(64, days))
        self._factors: Memo[np.ndarray] = Memo(self._compute_factor, maxsize=32)
        self._anchors: Memo[np.ndarray] = Memo(lambda name: anchor_log_prices(seed, assets[name]), maxsize=max(256, len(assets)))
        self._paths: Memo[np.ndarray] = Memo(self._compute_path, maxsize=max(32, days))

    def returns(self, name: str, day: date) -> np.ndarray:
        """The asset's 1-second log returns of the day, before the bridge to tomorrow's anchor."""
        return self._returns(name, day)

    def log_path(self, name: str, day: date) -> np.ndarray:
        """Log price at each second boundary of the day (86,401 points, joining the next day's exactly)."""
        return self._paths(name, day)

    def lag_s(self, name: str, day: date) -> int:
        return lag_s(self.seed, self.assets[name], day, self.lead_lag)

    def _compute_path(self, name: str, day: date) -> np.ndarray:
        return _read_only(log_price_path(self._anchors(name), day, self.returns(name, day)))

    def _compute_factor(self, sector: str, day: date) -> np.ndarray:
        return _read_only(own_returns(self.seed, f"sector:{sector}", day, SECTOR_VOL))

    def _compute_returns(self, name: str, day: date) -> np.ndarray:
        asset = self.assets[name]
        values = own_returns(self.seed, asset.key, day, asset.idio_vol)
        if asset.leader is not None:
            values = asset.leader_beta * self._lagged(asset.leader, day, self.lag_s(name, day)) + values
        if asset.market_beta:
            values += asset.market_beta * self.returns(MARKET_ASSET, day)
        if asset.sector_beta:
            values += asset.sector_beta * self._factors(asset.sector, day)
        return _read_only(values)

    def _lagged(self, name: str, day: date, lag: int) -> np.ndarray:
        """The asset's returns shifted by `lag` seconds: element t is its return at second t - lag."""
        today = self.returns(name, day)
        if lag == 0:
            return today
        yesterday = self.returns(name, day - timedelta(days=1))
        return np.concatenate([yesterday[S_PER_DAY - lag :], today[: S_PER_DAY - lag]])


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values
