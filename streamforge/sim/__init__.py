"""A deterministic market simulator for offline development and tests.

Not a matching engine: a seeded, vectorised generator of a whole market — a universe of assets with sectors, factor
betas and planted lead-lag groups (`assets`, `prices`), listed as instruments on venues' markets (`universe`:
Binance spot and USD-M perpetuals, OKX spot and swaps) whose prices derive from the assets' (`derived`, `perps`) —
and of each instrument's trades, klines and order book. `market.Market` is the data every wire format asks for;
the Binance spot wire format (REST, dump files, WebSocket) is `streamforge.venues.binance.simulator`, served by
`server.create_app`; `runner.running_simulator` runs it in a thread for tests.
"""
