"""`streamforge train` end to end: on an empty instance, one backfill launched through the webserver materialises the
window's cells (day, instrument) of the historical graph, then `graph` and `model` — Dagster orders them by the
training assets' window lineage — and the model is listed in the store with its metrics.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from streamforge_app.stack import Stack
from streamforge.store import EmbeddedStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]  # a stack, 9 runs: minutes on 2 cores


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Stack(home=tmp_path_factory.mktemp("home"), sim_env={"STREAMFORGE_SIM_VOLUME": "0.004"}) as running:
        yield running


def test_one_launch_fills_the_window_then_trains_btcusdt_alone(stack):
    from streamforge_app import control

    control.add_instruments(["binance.spot.BTCUSDT"], validate=True)
    console = Console(width=160, record=True)
    assert control.train(["binance.spot.BTCUSDT"], "2025-01-03", "2025-01-03", 3, stack.webserver_url, console)

    store = EmbeddedStore(stack.home / "store")
    assert {p.day.isoformat() for p in store.partitions("candles_5m")} == {"2025-01-01", "2025-01-02", "2025-01-03"}
    [model] = store.get_documents("models")
    assert model["graph_id"] == "binance.spot.BTCUSDT_2025-01-03" and model["window"]["days"] == 3
    printed = console.export_text()
    assert "persistence" in printed and "QLIKE" in printed and "3 missing cells" in printed


def test_the_leaderboard_command_evaluates_models_through_the_webserver_and_prints_them_with_a_baseline(stack):
    """The demo's last step: leaderboard partitions (model × date) backfilled by the daemon, then the table."""
    from streamforge_app import control

    control.add_instruments(["binance.spot.BTCUSDT"], validate=True)
    console = Console(width=200, record=True)
    assert control.leaderboard(["binance.spot.BTCUSDT"], ["persistence", "har"], "2025-01-03", "2025-01-03",
                               stack.webserver_url, console)
    printed = console.export_text()
    assert "leaderboard 2025-01-03..2025-01-03 (1 evaluation day(s)" in printed
    assert "reference" in printed and ("vs persistence" in printed or "vs har" in printed)
    [doc] = [d for d in EmbeddedStore(stack.home / "store").get_documents("leaderboard") if d["model"] == "har"]
    assert doc["universe"] == ["binance.spot.BTCUSDT"] and doc["day"] == "2025-01-03"
