"""One asset across venues on the page: the venues say which instruments are the same asset (asked of the simulator
over real sockets), and the page gets each one's last price and its distance from the shown instrument in bps."""

from __future__ import annotations

import asyncio
import json

import pytest

from streamforge.cross_venue import Identity
from streamforge.dashboard.hub import Hub
from streamforge.dashboard.rows import Delta
from streamforge.dashboard.views import Views
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues import simulator_urls

BINANCE, OKX, SWAP, ETH = "binance.spot.BTCUSDT", "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP", "okx.spot.ETH-USDT"


def views_with_prices(prices: dict[str, float]) -> Views:
    views = Views(candles=10, tape=5, instruments=list(prices))
    for instrument, price in prices.items():
        views.get(instrument).apply(Delta(klines=[[0, price, price, price, price, 1.0]]))
    return views


def test_the_page_gets_the_same_asset_on_the_other_venues_with_the_difference_in_bps():
    hub = Hub(views_with_prices({BINANCE: 100_000.0, OKX: 100_010.0, SWAP: 100_050.0, ETH: 3_000.0}), 25, 8)
    hub.across.identities = {
        BINANCE: Identity("binance", "BTC", "USDT", "spot"), OKX: Identity("okx", "BTC", "USDT", "spot"),
        SWAP: Identity("okx", "BTC", "USDT", "perpetual"), ETH: Identity("okx", "ETH", "USDT", "spot"),
    }
    snapshot = json.loads(hub.snapshot(BINANCE))
    assert snapshot["venues"] == [
        {"instrument": BINANCE, "price": 100_000.0, "diff_bps": 0.0},
        {"instrument": OKX, "price": 100_010.0, "diff_bps": 1.0},
    ]  # the perpetual is another kind of market, ETH another asset: neither is shown
    assert hub.across.row(ETH) == [{"instrument": ETH, "price": 3_000.0, "diff_bps": 0.0}]


def test_which_instruments_are_one_asset_is_asked_of_their_venues(tmp_path):
    views = views_with_prices({BINANCE: 1.0, OKX: 1.0, SWAP: 1.0})
    hub = Hub(views, 25, 8)
    with running_simulator(SimConfig(seed=3, volume=0.001, cache_dir=tmp_path)) as url:

        async def identify() -> None:
            task = asyncio.create_task(hub.across.identify_forever(simulator_urls(url)))
            for _ in range(200):  # bounded: each instrument is one REST call to its venue
                if len(hub.across.identities) == 3:
                    break
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(identify())
    assert hub.across.identities[OKX] == Identity("okx", "BTC", "USDT", "spot")
    assert hub.across.identities[SWAP] == Identity("okx", "BTC", "USDT", "perpetual")
    assert hub.across.peers(BINANCE) == [OKX]


@pytest.mark.parametrize("name", ["binance.spot.NOPE", "okx.spot.NOPE-USDT"])
def test_an_instrument_its_venue_does_not_know_has_no_peers_and_is_asked_again_later(tmp_path, name):
    hub = Hub(views_with_prices({name: 1.0}), 25, 8)
    with running_simulator(SimConfig(seed=3, volume=0.001, cache_dir=tmp_path)) as url:

        async def identify() -> None:
            task = asyncio.create_task(hub.across.identify_forever(simulator_urls(url)))
            for _ in range(200):  # bounded: one REST call, refused
                if name in hub.across.unanswered:
                    break
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(identify())
    assert "not listed" in hub.across.unanswered[name] or "does not list" in hub.across.unanswered[name]
    assert hub.across.peers(name) == [] and name not in hub.across.identities
