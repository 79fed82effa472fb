"""End to end, as a person uses it: `make dev`'s stack (broker, simulator, Dagster webserver + daemon as separate
processes), instruments registered, a backfill launched through the webserver's GraphQL API as runs sized by the
venue's trade counts, and followed until it ends; then one launched as a person does from the UI, through the
`sized_backfill` job's Launchpad, whose runs the daemon's sensor launches. The simulator runs with a low weight limit and no dump files, so
every day is paged through REST under the limit: the backfill must complete without a single 418 (ban) from the
exchange.
"""

from __future__ import annotations

import time
from datetime import date

import dagster as dg
import httpx
import pytest
from rich.console import Console

from streamforge import venues
from streamforge.catalog import cell_key, parse_cell
from streamforge.store import EmbeddedStore
from streamforge_app.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# BTCUSDT trades about ten times as often as either of the others
INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.DOGEUSDT", "binance.spot.XRPUSDT"]
DAYS = [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]


def box(tags: dict[str, str], order: list[str], days: list[date] = DAYS) -> list[str]:
    """The cells of a run's partition range, as Dagster reads it: its ends' days × the instruments between them."""
    first, last = (parse_cell(tags[t]) for t in ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end"))
    instruments = order[order.index(first.instrument):order.index(last.instrument) + 1]
    return [cell_key(i, d) for d in days if first.day <= d <= last.day for i in instruments]


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


def test_backfill_through_the_webserver_sizes_runs_by_volume_and_completes_without_a_ban(stack, monkeypatch):
    from streamforge_app import control
    from streamforge_assets.backfills import TAG

    control.add_instruments(INSTRUMENTS, validate=True)
    # A run may hold just under a BTCUSDT day's trades: each of its days runs alone, the quiet ones share a box.
    counts = venues.client("binance.spot").trades_24h()
    monkeypatch.setenv("STREAMFORGE_TRADES_PER_RUN", str(counts["binance.spot.BTCUSDT"] - 1))
    status = control.sized_backfill(INSTRUMENTS, "2025-01-01", "2025-01-03", [], stack.webserver_url, Console(width=140))
    assert status.succeeded
    assert {(a.asset, a.targeted, a.materialized) for a in status.assets} >= {("trades", 9, 9), ("arangodb/candles_5m", 9, 9)}

    records = control.instance().get_run_records(dg.RunsFilter(tags={TAG: status.id}))
    order = control.instance().get_dynamic_partitions("instruments")
    cells = [box(r.dagster_run.tags, order) for r in records]
    assert sorted(c for run in cells for c in run) == sorted(cell_key(i, d) for i in INSTRUMENTS for d in DAYS)
    assert sorted(len(run) for run in cells if "BTCUSDT" in run[0]) == [1, 1, 1]
    assert any(len({parse_cell(c).day for c in run}) > 1 and len({parse_cell(c).instrument for c in run}) > 1
               for run in cells)

    # The run queue held it to its limit: never more than two runs at once.
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


def test_a_backfill_launched_from_the_launchpad_is_planned_by_volume_and_run_by_the_sensor(stack):
    from streamforge_app import control
    from streamforge_app.webserver import DagsterWebserver
    from streamforge_assets.backfills import ENDED, TAG, backfill_id_of, plan_request

    request = plan_request(start="2025-01-04", end="2025-01-05", instruments=["DOGEUSDT", "XRPUSDT"])
    plan_id = DagsterWebserver(stack.webserver_url).launch_job("sized_backfill", request)
    inst = control.instance()
    deadline = time.monotonic() + 300
    while True:
        assert inst.get_run_by_id(plan_id).status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
        runs = inst.get_runs(dg.RunsFilter(tags={TAG: backfill_id_of(plan_id)}))
        if runs and all(r.status in ENDED for r in runs):
            break
        assert time.monotonic() < deadline, f"the sensor's runs did not end: {[r.status for r in runs]}"
        time.sleep(1)
    # Two quiet instruments × two days: one box, one run, all of it stored.
    [run] = runs
    assert run.status == dg.DagsterRunStatus.SUCCESS
    order = inst.get_dynamic_partitions("instruments")
    assert sorted(box(run.tags, order, [date(2025, 1, 4), date(2025, 1, 5)])) == sorted(
        cell_key(i, d) for i in INSTRUMENTS[1:] for d in (date(2025, 1, 4), date(2025, 1, 5)))
    stored = {(p.instrument, p.day) for p in EmbeddedStore(stack.home / "store").partitions("candles_5m")}
    assert {(i, d) for i in INSTRUMENTS[1:] for d in (date(2025, 1, 4), date(2025, 1, 5))} <= stored
