"""The dates and parameters every simulator test shares."""

from datetime import date

SEED = 7
VOLUME = 0.01  # ~15k BTCUSDT aggTrades a day: fast, still every minute traded
TODAY = date(2025, 3, 10)  # the simulators' clock starts at 00:00 UTC of this day
DAY = date(2025, 3, 4)  # a completed day with µs timestamps
MS_DAY = date(2024, 12, 30)  # a completed day from before Binance's dumps switched to µs
US_HEADER = {"X-MBX-TIME-UNIT": "MICROSECOND"}
