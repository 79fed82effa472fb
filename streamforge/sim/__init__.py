"""A Binance-compatible market simulator for offline development and tests.

Not a matching engine: a deterministic, seeded, vectorised generator of trades (with a planted lead-lag between
symbols), served with Binance's exact REST and dump-file formats on loopback. Start with `market.Market` (the data)
and `server.create_app` (the wire); `runner.running_simulator` runs it in a thread for tests.
"""
