"""A page opens on the last hours of 1-minute candles, even before the live topics hold any: the dashboard takes the
exchange's closed klines (the simulator here, over HTTP) for the instruments it shows, and only for those."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from live_market import dashboard_config
from page_socket import PageSocket

from streamforge.dashboard.app import running_dashboard
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues import simulator_urls


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> str:
    with running_simulator(SimConfig(seed=9, volume=0.001, cache_dir=tmp_path_factory.mktemp("sim"))) as url:
        yield url


def snapshot_with(page: PageSocket, candles: int, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        snapshot = page.next("snapshot")
        if len(snapshot["candles"]) >= candles:
            return snapshot
        page.subscribe(snapshot["instrument"])  # the history may still be on its way: ask again
        time.sleep(0.2)
    raise AssertionError(f"no snapshot with {candles} candles within {seconds} s; last had {len(snapshot['candles'])}")


def test_a_page_opens_on_the_exchanges_last_hours_of_closed_minutes(broker, topics, sim):
    config = dataclasses.replace(dashboard_config(broker.bootstrap, topics), history_urls=simulator_urls(sim), candles=120)
    with running_dashboard(config) as url, PageSocket(url, "binance.spot.ETHUSDT") as page:
        snapshot = snapshot_with(page, 120)
        page.subscribe("binance.spot.NOSUCHUSDT")
        assert page.next("snapshot")["candles"] == [], "a page's wish is not an instrument to fetch history for"
    opens = [c[0] for c in snapshot["candles"]]
    assert opens == list(range(opens[0], opens[0] + 120 * 60, 60))
    assert opens[-1] < time.time() // 60 * 60 + 60, "the open minute comes from trades, not from a kline"
    klines = httpx.get(f"{sim}/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1m", "startTime": opens[0] * 1000,
                                                      "limit": 120}).json()
    assert [[k[0] // 1000, *map(float, k[1:6])] for k in klines] == snapshot["candles"]


def test_without_the_exchange_the_page_still_opens_on_what_the_topics_hold(broker, topics, market):
    market.kline_history("binance.spot.ETHUSDT", 30)
    config = dataclasses.replace(dashboard_config(broker.bootstrap, topics), history_urls=simulator_urls("http://127.0.0.1:9"))
    with running_dashboard(config) as url, PageSocket(url, "binance.spot.ETHUSDT") as page:
        assert len(snapshot_with(page, 30)["candles"]) == 30
