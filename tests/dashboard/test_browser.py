"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, while trades stream into Kafka.

Skips, saying why, where there is no browser, no Playwright, or no chart library (`npm ci` not run).
The screenshot lands in test-artifacts/dashboard.png.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import uuid
from pathlib import Path

import pytest
from live_market import PERP, now_us

from streamforge.bus.config import kafka_config
from streamforge.dashboard.app import CHART_LIBRARY, running_dashboard
from streamforge.dashboard.config import DashboardConfig
from streamforge.live.shards import Shard
from streamforge.venues import simulator_urls

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling outside hosts, which this network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium here: apt-get install -y chromium"),
    pytest.mark.skipif(not CHART_LIBRARY.is_dir(), reason="chart library not installed: npm ci in streamforge/dashboard/web"),
]


@pytest.fixture
def browser_page():
    """A fresh page, and the console errors and uncaught exceptions it reports."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 860})
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()


def _text(page, selector: str) -> str:
    return page.locator(selector).first.inner_text()


def _expect_price_and_tape_to_move(page, seconds: float) -> None:
    """The last price and the newest tape row both change within `seconds` of the page showing its first trade."""
    page.wait_for_function("document.querySelector('#last-price').textContent !== '—'", timeout=10_000)
    page.wait_for_function(
        "([price, trade]) => document.querySelector('#last-price').textContent !== price"
        " && document.querySelector('#tape li').innerText !== trade",
        arg=[_text(page, "#last-price"), _text(page, "#tape li")], timeout=seconds * 1000,
    )


def test_the_page_follows_the_market_live_without_console_errors(dashboard, market, browser_page):
    page, errors = browser_page
    for instrument in ("binance.spot.ETHUSDT", "binance.spot.BTCUSDT"):
        market.kline_history(instrument, 90)
        market.book(instrument)
    with market.streaming(["binance.spot.ETHUSDT", "binance.spot.BTCUSDT"]):
        page.goto(dashboard)
        _expect_price_and_tape_to_move(page, seconds=5)
        assert page.locator("#connection").inner_text() == "live"
        assert page.locator("#chart canvas").count() > 0, "the chart library drew no canvas"
        assert page.locator("#bids .level").count() == page.locator("#asks .level").count() == 10
        assert page.locator("#instrument").input_value() == "binance.spot.ETHUSDT"
        page.wait_for_timeout(1500)  # a health message or two, and fresh tape rows, for the screenshot
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
        page.select_option("#instrument", "binance.spot.BTCUSDT")
        page.wait_for_function("Number(document.querySelector('#last-price').textContent.replace(/,/g, '')) > 50000",
                               timeout=5_000)
    assert errors == []


def _countdown_s(page) -> int:
    """Seconds left to the next funding as the panel shows them ("in 00:01:29 · 12:34 UTC")."""
    hours, minutes, seconds = _text(page, "#funding-countdown").split(" · ")[0].removeprefix("in ").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds)


def test_a_spot_page_shows_its_perpetual_basis_funding_countdown_and_liquidations(dashboard, market, browser_page):
    page, errors = browser_page
    for instrument in ("binance.spot.ETHUSDT", PERP):
        market.kline_history(instrument, 30)
    market.mark_price(PERP, next_funding_us=now_us() + 90_000_000)
    with market.streaming(["binance.spot.ETHUSDT", PERP]):
        page.goto(dashboard)
        page.wait_for_function("!document.querySelector('#perp-panel').hidden && "
                               "document.querySelector('#basis').textContent.endsWith(' bp') && "
                               "document.querySelector('#funding-countdown').textContent.startsWith('in ')", timeout=10_000)
        assert _text(page, "#perp-name") == PERP and _text(page, "#spot-name") == "binance.spot.ETHUSDT"
        assert _text(page, "#funding-rate") == "+0.0100%"
        spot, perp = (float(_text(page, f"#{side}-price").replace(",", "")) for side in ("spot", "perp"))
        assert 3000 < spot < 4000 and 3000 < perp < 4000
        first = _countdown_s(page)
        assert 0 < first <= 90
        page.wait_for_function(f"document.querySelector('#funding-countdown').textContent.split(' · ')[0] !== "
                               f"'{_text(page, '#funding-countdown').split(' · ')[0]}'", timeout=3_000)
        assert _countdown_s(page) < first, "the countdown runs down between mark-price messages"
        assert page.locator("#liquidations li").count() == 0
        _, _, price, _ = market.liquidation(PERP, "SELL", 2.5)
        page.wait_for_function("document.querySelector('#liquidations li') !== null", timeout=5_000)
        assert page.locator("#liquidations li").first.inner_text().split()[1:] == ["SELL", f"{price:,.2f}", "2.5"]
        page.screenshot(path=str(ARTIFACTS / "dashboard-perp.png"))
    assert errors == []


def test_the_page_follows_the_simulator_through_two_shards_of_loaders(broker, tmp_path, monkeypatch, browser_page):
    """The whole live path: simulator WebSocket -> two shards of `streamforge live`'s loader -> Kafka -> dashboard ->
    Chromium; the chart opens on the last hours of 1-minute candles, not on an empty chart, and the health panel shows
    both shards' loaders, the one that follows the page's instrument marked."""
    loader = pytest.importorskip("streamforge.live.loader", reason="the live loader (streamforge/live) is not here")
    from streamforge.sim.runner import running_simulator

    monkeypatch.setenv("STREAMFORGE_TOPIC_PREFIX", f"dash-live-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", "2")
    page, errors = browser_page
    instruments = ["binance.spot.ETHUSDT", "binance.spot.BTCUSDT", "binance.spot.SOLUSDT", "binance.spot.XRPUSDT"]
    follower = next(k for k in range(2) if Shard(k, 2).owns("binance.spot.ETHUSDT"))
    with running_simulator() as sim, contextlib.ExitStack() as shards:
        running = [
            shards.enter_context(loader.LoaderThread(loader.LiveConfig.from_settings(
                instruments, shard=Shard(k, 2), urls=simulator_urls(sim), home=tmp_path / str(k), http_port=0,
            ), kafka_config(broker.bootstrap)))
            for k in range(2)
        ]
        config = dataclasses.replace(
            DashboardConfig.from_settings(broker.bootstrap), history_urls=simulator_urls(sim),
            metrics_urls=tuple(f"http://127.0.0.1:{r.http_port}/metrics" for r in running),
        )
        with running_dashboard(config) as url:
            page.goto(url)
            # The loaders have just started, so the live topics hold a minute at most: the hours on the chart are the
            # exchange's klines, there when the page opens.
            page.wait_for_function(f"state.candles.size >= {config.candles}", timeout=10_000)
            _expect_price_and_tape_to_move(page, seconds=10)
            page.wait_for_function("document.querySelector('#bids .level') !== null", timeout=10_000)
            page.wait_for_function("document.querySelectorAll('#loaders .loader').length === 2 && "
                                   "document.querySelector('#loaders h4.follows') !== null", timeout=5_000)
            headings = page.locator("#loaders h4").all_inner_texts()
            assert [h.split(" · ")[0] for h in headings] == ["shard 0/2", "shard 1/2"]
            assert headings[follower] == f"shard {follower}/2 · follows binance.spot.ETHUSDT"
            assert "events" in page.locator("#loaders .loader").nth(follower).inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard-live-loader.png"))
    assert errors == []
