"""The live loader following a perpetual on the simulator's routed futures streams and a real broker: contiguous
trades, the pu-chain book, closed klines, mark prices and liquidations on their own topics, beside a spot
instrument on the same loader."""

from __future__ import annotations

import time

import httpx
import pytest

from live_cases import BTC, assert_contiguous_without_duplicates, metric, read_frame
from streamforge.live.loader import LoaderThread
from streamforge.venues.binance.usdm.live import BinanceUsdmFeed

pytestmark = pytest.mark.slow

PERP = "binance.usdm.BTCUSDT"


def test_a_perpetual_streams_trades_book_mark_prices_and_liquidations_beside_spot(sim, kafka, live_config):
    with LoaderThread(live_config([BTC, PERP]), kafka) as loader:
        url = f"http://127.0.0.1:{loader.http_port}/metrics"
        deadline = time.monotonic() + 90
        while metric(text := httpx.get(url).text, 'streamforge_live_events_total{instrument="binance.usdm.BTCUSDT",type="live_liquidations"}') == 0:
            assert time.monotonic() < deadline, "no liquidation streamed within 90 s"
            time.sleep(0.5)
        time.sleep(1.5)
    trades = read_frame(kafka, "live_trades")
    assert set(trades["instrument"]) == {BTC, PERP}
    assert_contiguous_without_duplicates(trades)
    assert trades.filter(trades["instrument"] == PERP)["is_best_match"].null_count() > 0
    marks = read_frame(kafka, "live_mark_price")
    assert set(marks["instrument"]) == {PERP} and marks.height >= 2
    assert (marks["mark_price"] / marks["index_price"] - 1).abs().max() < 0.05
    liquidations = read_frame(kafka, "live_liquidations")
    assert liquidations.height >= 1 and set(liquidations["side"]) <= {"BUY", "SELL"}
    book = read_frame(kafka, "book")
    assert PERP in set(book["instrument"])
    assert metric(text, 'streamforge_live_book_resyncs{instrument="binance.usdm.BTCUSDT"}') == 0


def test_the_feed_plans_routed_connections_of_at_most_200_streams(sim_url):
    from streamforge.instruments import resolve
    from streamforge.venues import endpoints
    from streamforge.instruments import MARKETS

    instruments = resolve([f"binance.usdm.S{i:03d}USDT" for i in range(60)])
    feed = BinanceUsdmFeed(endpoints(MARKETS["binance.usdm"]), instruments)
    plans = feed.plan()
    feed.close()
    assert {p.url.split("/stream?")[0].rsplit("/", 1)[1] for p in plans} == {"public", "market"}
    assert all(len(p.streams) <= 200 for p in plans)
    assert sum(len(p.streams) for p in plans) == 60 * 5
    assert all("@depth@100ms" in s for p in plans if "/public/" in p.url for s in p.streams)
