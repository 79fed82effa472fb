"""End to end, as a person uses it: `make dev`'s stack (broker, simulator, Dagster webserver + daemon as separate
processes), instruments registered, a backfill launched through the webserver's GraphQL API — the UI's own call — and
followed until it ends. The simulator runs with a low weight limit and no dump files, so every day is paged through
REST under the limit: the backfill must complete without a single 418 (ban) from the exchange.
"""

from __future__ import annotations

import dagster as dg
import httpx
import pytest
from rich.console import Console

from streamforge_app.stack import Stack
from streamforge.store import EmbeddedStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sim_env = {
        "STREAMFORGE_SIM_VOLUME": "0.004",
        "STREAMFORGE_SIM_WEIGHT_LIMIT": "400",
        "STREAMFORGE_SIM_WEIGHT_WINDOW_S": "10",
        "STREAMFORGE_SIM_FAULTS": "no_dumps=1",
    }
    with Stack(home=tmp_path_factory.mktemp("home"), sim_env=sim_env) as running:
        yield running


def test_backfill_through_the_webserver_completes_without_a_ban(stack):
    from streamforge_app import control

    control.add_instruments(INSTRUMENTS, validate=True)
    ok = control.backfill(INSTRUMENTS, "2025-01-01", "2025-01-03", [], stack.webserver_url, Console(width=140))
    assert ok

    # The run queue held it to its limit: never more than two runs at once.
    backfill_id = control.instance().get_backfills(limit=1)[0].backfill_id
    records = control.instance().get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    spans = [(r.start_time, r.end_time) for r in records]
    assert spans and all(start and end for start, end in spans)
    assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= 2
    assert len(control.status_table(INSTRUMENTS).rows) == 9

    stats = httpx.get(f"{stack.sim_url}/sim/stats").json()
    assert stats["responses"].get("418", 0) == 0
    store = EmbeddedStore(stack.home / "store")
    for collection, rows_per_day in [("candles_1m", 1440), ("candles_5m", 288)]:
        parts = store.partitions(collection)
        assert len(parts) == 9
        assert {p.rows for p in parts} == {rows_per_day}
    assert len(store.partitions("trades")) == 9
