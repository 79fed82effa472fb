"""The market and days the exchange-client tests share with their simulator."""

from datetime import date

from streamforge.sim.market import Market

SEED, VOLUME = 11, 0.002  # ~3,800 BTCUSDT aggTrades a day: a few REST pages per day
TODAY = date(2025, 1, 10)  # the simulator's clock: days before this are complete
DAY, MS_ERA_DAY = date(2025, 1, 2), date(2024, 12, 31)
MARKET = Market(SEED, VOLUME)
