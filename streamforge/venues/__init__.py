"""Venues: one folder per exchange, holding everything specific to it.

A venue's folder translates its wire formats (REST pages, dump files, WebSocket messages) into the catalog's records
at the edge, keeps its own procedures (rate limits, the order-book synchronisation, connection rules) and serves its
wire format from the simulator's market (`<venue>/simulator`). The rest of StreamForge sees only records keyed by
instrument id (`streamforge.instruments`); it learns which venue a record came from by the instrument's name alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.instruments import MARKETS, Instrument, Market, parse_instrument
from streamforge.live.feed import Feed
from streamforge.venues.market import Endpoints, MarketClient


def endpoints(market: Market, overrides: Mapping[str, str] | None = None, cache_dir: Path | None = None) -> Endpoints:
    """The market's URLs from its settings, each replaced by `overrides[setting]` when given (tests, resources)."""
    overrides = overrides or {}
    rest, dumps, ws = (overrides.get(name) or settings.get(name) for name in market.url_settings)
    cache = cache_dir or Path(settings.get("STREAMFORGE_DUMP_CACHE") or settings.home() / "dump-cache")
    return Endpoints(rest, dumps, ws, cache)


def client(market_id: str, overrides: Mapping[str, str] | None = None, cache_dir: Path | None = None) -> MarketClient:
    """A client of one market (e.g. "binance.spot"), its venue's code imported only now."""
    market = MARKETS[market_id]
    return _named(market.client)(endpoints(market, overrides, cache_dir))


def feed(market_id: str, instruments: list[Instrument], overrides: Mapping[str, str] | None = None, share: float = 1.0) -> Feed:
    """The live streams of `instruments` of one market, its venue's code imported only now; `share` of the venue's
    per-IP limits (see `Feed`)."""
    market = MARKETS[market_id]
    return _named(market.feed)(endpoints(market, overrides), instruments, share)


def trading(market_ids: list[str], overrides: Mapping[str, str] | None = None) -> list[str]:
    """Every instrument the markets list as trading now, each market asked once (`MarketClient.trading`)."""
    unknown = [m for m in market_ids if m not in MARKETS]
    if unknown:
        raise ConfigError(f"unknown market(s) {', '.join(unknown)}: expected <venue>.<market>, one of {', '.join(MARKETS)}")
    ids = []
    for market_id in market_ids:
        market_client = client(market_id, overrides)
        try:
            ids += market_client.trading()
        finally:
            market_client.close()
    return ids


def _named(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class Clients:
    """One client per market, made when an instrument of it is first asked for: each venue's weight limiter then
    sees every request this process makes to it."""

    def __init__(self, overrides: Mapping[str, str] | None = None, cache_dir: Path | None = None) -> None:
        self.overrides, self.cache_dir = dict(overrides or {}), cache_dir
        self._clients: dict[str, MarketClient] = {}

    def of(self, instrument: str) -> MarketClient:
        market_id = parse_instrument(instrument).market_id
        if market_id not in self._clients:
            self._clients[market_id] = client(market_id, self.overrides, self.cache_dir)
        return self._clients[market_id]

    def close(self) -> None:
        for market_client in self._clients.values():
            market_client.close()
        self._clients.clear()


def simulator_urls(sim_url: str) -> dict[str, str]:
    """Every market's URL settings pointed at one simulator, which serves them all (its WebSocket at the same
    address): what the local stack and the tests set."""
    ws_url = sim_url.replace("http://", "ws://").replace("https://", "wss://")
    return {
        name: ws_url if kind == "ws" else sim_url
        for market in MARKETS.values()
        for name, kind in zip(market.url_settings, ("rest", "dumps", "ws"))
    }
