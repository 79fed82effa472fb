"""The dates, parameters and measures the simulator tests share."""

from datetime import date

import numpy as np

SEED = 7
VOLUME = 0.01  # ~15k BTCUSDT aggTrades a day: fast, still every minute traded
TODAY = date(2025, 3, 10)  # the simulators' clock starts at 00:00 UTC of this day
DAY = date(2025, 3, 4)  # a completed day with µs timestamps
MS_DAY = date(2024, 12, 30)  # a completed day from before Binance's dumps switched to µs
US_HEADER = {"X-MBX-TIME-UNIT": "MICROSECOND"}


def peak_lag(follower: np.ndarray, leader: np.ndarray, max_lag: int) -> int:
    """The lag (steps, 0..max_lag) at which the leader's returns correlate most with the follower's."""
    n = follower.size
    spectrum = np.fft.rfft(follower, 2 * n) * np.conj(np.fft.rfft(leader, 2 * n))
    return int(np.argmax(np.fft.irfft(spectrum, 2 * n)[: max_lag + 1]))
