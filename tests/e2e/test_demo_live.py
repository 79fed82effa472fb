"""`make demo-live`: the whole live path for a bounded time under chaos, and an honest account of it."""

import pytest

from streamforge_app.demo_live import run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_live_demo_runs_the_path_under_chaos_and_loses_nothing():
    eth, btc, perp = "binance.spot.ETHUSDT", "binance.spot.BTCUSDT", "binance.usdm.BTCUSDT"
    report = run([eth, btc, perp], seconds=12, chaos=True)
    assert report.ok, report
    assert all(report.trades_per_instrument.values()), report.trades_per_instrument
    none = {btc: 0, eth: 0, perp: 0}
    assert report.missing_ids == none and report.duplicate_ids == none
    assert report.rows_per_topic["streamforge.live-mark-price.v1"] > 0
    assert report.loader.get("reconnects", 0) >= 1  # the simulator cut the connection every 5 s
    assert report.dashboard_messages > 1  # a snapshot and then live updates
    assert report.rows_per_topic["streamforge.book.v2"] > 0
