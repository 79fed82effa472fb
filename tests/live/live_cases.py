"""Constants the live tests share (a module, not the conftest, so tests can import them)."""

SEED = 7
SPEED = 4.0  # four market seconds per second: more trades per test second, klines close every 15 s
WINDOW = 100  # depth levels the simulator keeps exact; the loader's snapshots take as many
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
