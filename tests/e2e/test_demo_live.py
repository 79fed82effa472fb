"""`make demo-live`: the whole live path for a bounded time under chaos, and an honest account of it."""

import pytest

from streamforge_app.demo_live import run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_live_demo_runs_the_path_under_chaos_and_loses_nothing():
    eth, btc = "binance.spot.ETHUSDT", "binance.spot.BTCUSDT"
    report = run([eth, btc], seconds=12, chaos=True)
    assert report.ok, report
    assert sum(report.trades_per_instrument.values()) > 0
    assert report.missing_ids == {btc: 0, eth: 0} and report.duplicate_ids == {btc: 0, eth: 0}
    assert report.loader.get("reconnects", 0) >= 1  # the simulator cut the connection every 5 s
    assert report.dashboard_messages > 1  # a snapshot and then live updates
    assert report.rows_per_topic["streamforge.book.v2"] > 0
