"""The price process: daily anchors, stochastic volatility at 1-second resolution, and the planted lead-lag.

How a day's price path is built, and why this way:

* **Anchors.** Each symbol's log price at 00:00 UTC of every day is a cheap random walk over all days since EPOCH
  (one vectorised cumsum), pinned to a realistic 2025 level. A day's path is a bridge from today's anchor to
  tomorrow's, so any day can be generated alone and consecutive days still join up exactly.
* **Volatility clustering.** Log-volatility is the sum of a slow (hours) and a fast (minutes) AR(1) process at
  1-second steps. An AR(1) is an exponentially weighted sum of its innovations, so it is computed as one FFT
  convolution over yesterday's and today's innovations: vectorised, and continuous across midnight.
* **Seasonality.** Variance follows intraday activity (busiest around 14:00 UTC, US/EU overlap).
* **Lead-lag.** BTCUSDT's 1-second returns are the market factor. A follower's return is
  `beta * leader_return(t - lag) + idio`, with idio volatility `idio_share` of the leader's, so followers inherit
  the leader's volatility with the same lag. In the control market (`lead_lag=False`) the lag is 0: same correlation,
  no lead. The leader's returns for the lagged window are regenerated from their own keys, so a follower's day is
  still a pure function of its key.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import numpy as np

from streamforge.sim.calendar import MICROSECOND_DUMPS_FROM, N_DAYS, S_PER_DAY, day_index
from streamforge.sim.seeding import day_generator, generator
from streamforge.sim.symbols import LEADER, SYMBOLS, SymbolSpec

#: (half-life in seconds, stationary standard deviation) of the log-volatility components.
VOL_COMPONENTS = ((7_200.0, 0.35), (120.0, 0.30))
#: Amplitude of the intraday activity cycle and the hour of its peak (UTC).
SEASON_AMPLITUDE = 0.4
SEASON_PEAK_HOUR = 14.0

#: The AR(1) kernel is cut after this many half-lives (weight 2^-10 ~ 0.1%).
KERNEL_HALF_LIVES = 10

_SECONDS = np.arange(S_PER_DAY, dtype=np.float64)


def seasonality() -> np.ndarray:
    """Relative activity per second of the day, mean 1."""
    phase = 2 * np.pi * (_SECONDS / S_PER_DAY - SEASON_PEAK_HOUR / 24)
    return 1.0 + SEASON_AMPLITUDE * np.cos(phase)


def ar1_over_day(innovations_by_day: list[np.ndarray], half_life_s: float, std: float) -> np.ndarray:
    """Today's values of an AR(1) whose innovations are given for yesterday and today (in that order).

    x_t = phi * x_{t-1} + sqrt(1 - phi^2) * std * e_t is an exponentially weighted sum of innovations; yesterday's
    innovations warm it up so that the process is stationary and continuous at midnight.
    """
    phi = 0.5 ** (1.0 / half_life_s)
    noise = np.concatenate(innovations_by_day) * (np.sqrt(1 - phi * phi) * std)
    kernel = phi ** np.arange(min(S_PER_DAY, int(KERNEL_HALF_LIVES * half_life_s)), dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(noise.size + kernel.size)))
    full = np.fft.irfft(np.fft.rfft(noise, size) * np.fft.rfft(kernel, size), size)
    return full[noise.size - S_PER_DAY : noise.size]


def log_volatility(seed: int, symbol: str, day: date) -> np.ndarray:
    """Log of the volatility multiplier per second, stationary with E[exp(2 h)] = 1."""
    total = np.zeros(S_PER_DAY)
    for i, (half_life, std) in enumerate(VOL_COMPONENTS):
        innovations = [
            day_generator(seed, symbol, f"vol{i}", d).standard_normal(S_PER_DAY) for d in (day - timedelta(days=1), day)
        ]
        total += ar1_over_day(innovations, half_life, std)
    variance = sum(std * std for _, std in VOL_COMPONENTS)
    return total - variance


def own_returns(seed: int, spec: SymbolSpec, day: date, scale: float) -> np.ndarray:
    """1-second log returns driven by the symbol's own volatility process, with per-day standard deviation `scale`."""
    sigma = scale / np.sqrt(S_PER_DAY) * np.exp(log_volatility(seed, spec.symbol, day)) * np.sqrt(seasonality())
    return sigma * day_generator(seed, spec.symbol, "returns", day).standard_normal(S_PER_DAY)


@functools.lru_cache(maxsize=8)
def leader_returns(seed: int, day: date) -> np.ndarray:
    """The leader's returns; cached (read-only) because every follower's day needs the leader's today and yesterday."""
    leader = SYMBOLS[LEADER]
    values = own_returns(seed, leader, day, leader.daily_vol)
    values.flags.writeable = False
    return values


def lagged_leader_returns(seed: int, day: date, lag_s: int) -> np.ndarray:
    """The leader's 1-second returns shifted by `lag_s`: element t is the leader's return at second t - lag_s."""
    today = leader_returns(seed, day)
    if lag_s == 0:
        return today
    yesterday = leader_returns(seed, day - timedelta(days=1))
    return np.concatenate([yesterday[S_PER_DAY - lag_s :], today[: S_PER_DAY - lag_s]])


def returns(seed: int, spec: SymbolSpec, day: date, lead_lag: bool) -> np.ndarray:
    """The symbol's 1-second log returns for the day, before the bridge to tomorrow's anchor."""
    if not spec.follows_leader:
        return own_returns(seed, spec, day, spec.daily_vol)
    lag = spec.lead_lag_s if lead_lag else 0
    idio = own_returns(seed, spec, day, spec.idio_share * SYMBOLS[LEADER].daily_vol)
    return spec.beta * lagged_leader_returns(seed, day, lag) + idio


def anchor_log_prices(seed: int, spec: SymbolSpec) -> np.ndarray:
    """Log price at 00:00 UTC of every day since EPOCH (one extra day so that the last day has a tomorrow)."""
    steps = generator(seed, spec.symbol, "anchors").standard_normal(N_DAYS + 1) * spec.daily_vol
    walk = np.concatenate([[0.0], np.cumsum(steps[:-1])])
    return np.log(spec.price_2025) + walk - walk[day_index(MICROSECOND_DUMPS_FROM)]


def log_price_path(anchors: np.ndarray, day: date, returns: np.ndarray) -> np.ndarray:
    """Log price at each second boundary of the day, 86,401 points from today's anchor to tomorrow's."""
    i = day_index(day)
    cumulative = np.concatenate([[0.0], np.cumsum(returns)])
    gap = (anchors[i + 1] - anchors[i]) - cumulative[-1]
    return anchors[i] + cumulative + gap * (np.arange(S_PER_DAY + 1) / S_PER_DAY)

