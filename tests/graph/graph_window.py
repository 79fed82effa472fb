"""Two days of the simulated market for the graph tests (module name unique across tests/ on purpose)."""

from datetime import date

from streamforge.dates import day_bounds_us

INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
FIRST_DAY = date(2025, 1, 1)
DAYS = 2
# Train on the first 36 hours: later data is "the future" for the look-ahead tests.
TRAIN_END_US = day_bounds_us(FIRST_DAY)[0] + 36 * 3_600_000_000
