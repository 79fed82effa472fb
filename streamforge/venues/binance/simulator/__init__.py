"""Binance's wire format served from the simulated market: REST endpoints and their weights (`rest`, `ratelimit`),
daily dump files (`dumps`, `dump_routes`) and WebSocket streams (`ws`), all encoded by `wire`."""
