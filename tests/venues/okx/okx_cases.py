"""The market and days the OKX client tests share with their simulator."""

from datetime import date

from streamforge.sim.market import Market

SEED, VOLUME = 11, 0.01  # OKX BTC-USDT at a quarter of Binance's activity: ~3,700 trades a day, a few dozen pages
TODAY = date(2025, 1, 10)  # the simulator's clock (00:00 UTC at start): days before this are complete
DAY = date(2025, 1, 7)  # both of its daily files (UTC+8 days 7 and 8) are published by TODAY
SPOT, SWAP = "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP"
MARKET = Market(SEED, VOLUME)
