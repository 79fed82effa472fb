"""The dashboard in a real headless Chromium (Debian's), driven by Playwright, while trades stream into Kafka.

Skips, saying why, where there is no browser, no Playwright, or no chart library (`npm ci` not run).
The screenshot lands in test-artifacts/dashboard.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streamforge.dashboard.app import CHART_LIBRARY

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


def test_the_page_follows_the_market_live_without_console_errors(dashboard, market, browser_page):
    page, errors = browser_page
    for symbol in ("ETHUSDT", "BTCUSDT"):
        market.kline_history(symbol, 90)
        market.book(symbol)
    with market.streaming(["ETHUSDT", "BTCUSDT"]):
        page.goto(dashboard)
        page.wait_for_function("document.querySelector('#last-price').textContent !== '—'", timeout=10_000)
        first_price, first_trade = _text(page, "#last-price"), _text(page, "#tape li")
        page.wait_for_function(
            "([price, trade]) => document.querySelector('#last-price').textContent !== price"
            " && document.querySelector('#tape li').innerText !== trade",
            arg=[first_price, first_trade], timeout=5_000,
        )
        assert page.locator("#connection").inner_text() == "live"
        assert page.locator("#chart canvas").count() > 0, "the chart library drew no canvas"
        assert page.locator("#bids .level").count() == page.locator("#asks .level").count() == 10
        assert page.locator("#symbol").input_value() == "ETHUSDT"
        page.wait_for_timeout(1500)  # a health message or two, and fresh tape rows, for the screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
        page.select_option("#symbol", "BTCUSDT")
        page.wait_for_function("Number(document.querySelector('#last-price').textContent.replace(/,/g, '')) > 50000",
                               timeout=5_000)
    assert errors == []
