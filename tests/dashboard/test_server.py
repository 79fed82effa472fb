"""The dashboard server over real sockets: Kafka (the session's Tansu broker) -> decoded frames -> /ws clients."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from live_market import PERP, dashboard_config, now_us
from page_socket import PageSocket

from streamforge.bus.config import kafka_config
from streamforge.bus.topics import ensure_topics
from streamforge.dashboard.app import running_dashboard


def _wait_for_partitions(url: str, expected: int, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = httpx.get(f"{url}/healthz").json()
        if health["kafka"]["partitions"] == expected:
            return health
        time.sleep(0.1)
    raise AssertionError(f"the dashboard did not assign {expected} partitions within {seconds} s: {health}")


def test_healthz_answers_and_reports_the_assigned_partitions(dashboard, topics):
    health = _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    assert health["status"] == "ok"
    assert health["kafka"]["error"] is None
    assert "binance.spot.ETHUSDT" in health["instruments"]


def test_page_and_chart_library_are_served_locally(dashboard):
    page = httpx.get(dashboard)
    assert page.status_code == 200 and "/vendor/lightweight-charts/" in page.text
    assert "http" not in page.text.split("<body>")[1], "the page must load nothing from outside the dashboard"
    assert httpx.get(f"{dashboard}/static/dashboard.js").status_code == 200


def test_a_new_page_gets_a_snapshot_of_what_was_published_before_it_started(broker, topics, market):
    market.kline_history("binance.spot.ETHUSDT", 30)
    ids = market.trades("binance.spot.ETHUSDT", 100)
    market.book("binance.spot.ETHUSDT", levels=20)
    with running_dashboard(dashboard_config(broker.bootstrap, topics)) as url, PageSocket(url, "binance.spot.ETHUSDT") as page:
        assert page.hello["instrument"] == "binance.spot.ETHUSDT"
        snapshot = page.next("snapshot")
        deadline = time.monotonic() + 10
        while not (snapshot["book"] and len(snapshot["candles"]) >= 30) and time.monotonic() < deadline:
            page.subscribe("binance.spot.ETHUSDT")  # the look-back may still be on its way: ask again
            snapshot = page.next("snapshot")
    assert len(snapshot["candles"]) in (30, 31)  # 30 klines, plus the current minute built from the trades
    assert [t[4] for t in snapshot["trades"]] == ids[-40:]  # the tape holds the newest STREAMFORGE_DASHBOARD_TAPE
    assert len(snapshot["book"]["bids"]) == len(snapshot["book"]["asks"]) == 20
    assert snapshot["book"]["bids"][0][0] < snapshot["book"]["asks"][0][0]


def test_trades_stream_to_subscribers_coalesced_in_order(dashboard, topics, market):
    _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    with PageSocket(dashboard, "binance.spot.ETHUSDT") as page:
        page.next("snapshot")
        # A burst of 30 one-trade messages: they reach the dashboard within PUSH_MS of each other however loaded
        # the machine is (sent one by one with a flush each, a loaded machine spaced them wider than PUSH_MS).
        published = [i for _ in range(30) for i in market.trades("binance.spot.ETHUSDT", 1, flush=False)]
        market.producer.flush()
        updates = [m for m in page.messages(2) if m["type"] == "update"]
    received = [t[4] for u in updates for t in u["trades"]]
    assert received == published
    assert len(updates) < len(published), "updates within PUSH_MS must be coalesced into one message"
    assert all(u["candles"] for u in updates if u["trades"]), "every trade moves the current candle"


def test_a_page_only_gets_the_symbol_it_subscribed_to_and_can_switch_even_to_an_unknown_one(dashboard, topics, market):
    _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    with PageSocket(dashboard, "binance.spot.BTCUSDT") as page:
        page.next("snapshot")
        market.trades("binance.spot.ETHUSDT", 5)
        btc = market.trades("binance.spot.BTCUSDT", 5)
        updates = [m for m in page.messages(1.5) if m["type"] == "update"]
        assert {u["instrument"] for u in updates} == {"binance.spot.BTCUSDT"}
        assert [t[4] for u in updates for t in u["trades"]] == btc
        page.subscribe("binance.spot.ETHUSDT")
        snapshot = page.next("snapshot")
        page.subscribe("binance.spot.NOSUCHUSDT")
        unknown = page.next("snapshot")
    assert snapshot["instrument"] == "binance.spot.ETHUSDT" and snapshot["trades"]
    assert unknown["instrument"] == "binance.spot.NOSUCHUSDT" and unknown["trades"] == [] and unknown["candles"] == []
    assert "binance.spot.NOSUCHUSDT" not in httpx.get(f"{dashboard}/healthz").json()["instruments"], "a page's wish is not a instrument"


def test_topics_created_after_the_dashboard_started_are_followed(broker, topics, market):
    late = {stream: dataclasses.replace(spec, name=spec.name + "-late") for stream, spec in topics.items()}
    market.topics = late
    with running_dashboard(dashboard_config(broker.bootstrap, late)) as url, PageSocket(url, "binance.spot.ETHUSDT") as page:
        page.next("snapshot")
        time.sleep(0.5)
        ensure_topics(kafka_config(broker.bootstrap), tuple(late.values()))
        _wait_for_partitions(url, sum(spec.partitions for spec in late.values()))
        ids = market.trades("binance.spot.ETHUSDT", 3)
        updates = [m for m in page.messages(2) if m["type"] == "update"]
    assert [t[4] for u in updates for t in u["trades"]] == ids


def test_an_undecodable_message_is_counted_and_skipped(dashboard, topics, market):
    _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    with PageSocket(dashboard, "binance.spot.ETHUSDT") as page:
        page.next("snapshot")
        market.producer.send(topics["trades"].name, value=b"not arrow", key=b"binance.spot.ETHUSDT",
                             headers=[("streamforge.record", b"agg_trade"), ("streamforge.version", b"1")])
        ids = market.trades("binance.spot.ETHUSDT", 2)
        updates = [m for m in page.messages(1.5) if m["type"] == "update"]
    assert [t[4] for u in updates for t in u["trades"]] == ids
    assert httpx.get(f"{dashboard}/healthz").json()["kafka"]["undecodable"] == 1


def test_health_reaches_the_page_every_second_with_lag_and_the_loader_state(dashboard, topics, market):
    _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    with PageSocket(dashboard, "binance.spot.ETHUSDT") as page:
        page.next("snapshot")
        market.trades("binance.spot.ETHUSDT", 1, at_us=now_us())
        health = page.next("health", seconds=3)
    assert set(health["kafka"]["lag"]) == {spec.name for spec in topics.values()}
    [loader] = health["loaders"]
    assert loader["error"].startswith("not reachable at http://127.0.0.1:9/metrics") and loader["shard"] is None
    assert "binance.spot.ETHUSDT" in health["instruments"]


def test_a_spot_page_shows_its_perpetual_with_the_basis_funding_and_liquidations(dashboard, topics, market):
    _wait_for_partitions(dashboard, sum(spec.partitions for spec in topics.values()))
    market.trades("binance.spot.ETHUSDT", 5)
    market.trades(PERP, 5)
    next_funding = now_us() + 3_600_000_000
    market.mark_price(PERP, next_funding, funding_rate=0.00012)
    first = market.liquidation(PERP, "SELL", 1.5)
    with PageSocket(dashboard, "binance.spot.ETHUSDT") as page:
        snapshot = page.next("snapshot")
        deadline = time.monotonic() + 10
        while not (snapshot["perp"] and snapshot["perp"]["mark"] and snapshot["liquidations"]) and time.monotonic() < deadline:
            page.subscribe("binance.spot.ETHUSDT")  # the perpetual's topics may still be on their way: ask again
            snapshot = page.next("snapshot")
        second = market.liquidation(PERP, "BUY", 0.7)
        updates = [m for m in page.messages(2) if m["type"] == "update"]
    panel = snapshot["perp"]
    assert (panel["spot"], panel["perp"]) == ("binance.spot.ETHUSDT", PERP)
    assert (panel["spot_price"], panel["perp_price"]) == (market.price["binance.spot.ETHUSDT"], market.price[PERP])
    assert panel["basis"] == pytest.approx(market.price[PERP] - market.price["binance.spot.ETHUSDT"])
    assert panel["basis_bps"] == pytest.approx(panel["basis"] / panel["spot_price"] * 1e4)
    assert panel["mark"]["next_funding_time"] == next_funding and panel["mark"]["funding_rate"] == 0.00012
    assert snapshot["liquidations"] == [list(first)]
    # An update may repeat what a snapshot taken before the push already held (as with trades): the new one must come.
    assert [x for u in updates for x in u["liquidations"]][-1] == list(second), "the perpetual's news reach the spot page"
    assert all(u["instrument"] == "binance.spot.ETHUSDT" and u["perp"]["perp"] == PERP for u in updates)
