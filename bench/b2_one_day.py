"""B2: one BTCUSDT day at 2025 volume (~1.5M aggregate trades) from the simulator's dump file through the whole
historical graph — trades → Kafka → candles_1m/5m (+ their checks against the exchange's klines) → store — in one
Dagster run on real parts. Goal: ≤ 20 s and ≤ 1.5 GB peak RSS on 2 cores. The OKX case: the same for one OKX
BTC-USDT day (~375k trades), cut from its two UTC+8 daily files, its candles checked against OKX's (after the
Binance run, so the peak RSS is the Binance day's).

Beside it, in the same run, the floor: only downloading, verifying and parsing the same dump file, which any
pipeline has to do. The simulator runs in its own process, and its one-off generation of the file is timed
separately, so neither counts against the pipeline.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from tempfile import mkdtemp

import dagster as dg
import httpx

from bench.headline import Figure
from streamforge.catalog import TRADES, cell_key, dataset
from streamforge.venues.okx.wire import trades_file

SYMBOL, DAY = "BTCUSDT", date(2025, 1, 2)
INSTRUMENT = f"binance.spot.{SYMBOL}"
OKX_SYMBOL = "BTC-USDT"
OKX_INSTRUMENT = f"okx.spot.{OKX_SYMBOL}"
HEADLINE = (
    Figure("one BTCUSDT day through the graph, s", "pipeline_wall_s", "floor_download_verify_parse_s",
           "download, verify and parse only", goal=20),
    Figure("peak RSS, MB", "peak_rss_mb", goal=1536),
    Figure("one OKX BTC-USDT day (two UTC+8 files) through the graph, s", "okx.pipeline_wall_s",
           "okx.floor_download_parse_s", "download and parse only"),
)


def _historical_assets() -> list:
    from streamforge_assets.definitions import defs

    return list(defs.assets)


def _start_simulator(home: Path) -> tuple[subprocess.Popen, str]:
    from streamforge.net import free_port, wait_http

    port = free_port()
    env = {**os.environ, "STREAMFORGE_HOME": str(home), "STREAMFORGE_SIM_PORT": str(port), "STREAMFORGE_SIM_VOLUME": "1.0"}
    proc = subprocess.Popen([sys.executable, "-m", "streamforge.sim"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/api/v3/ping", 60, proc, "the simulator")
    return proc, url


def _step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    started, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 2)
    return seconds


def _through_graph(broker, url: str, home: Path, instrument: str) -> dict:
    """One Dagster run of the historical graph over the cell of `instrument` and DAY: wall seconds, rows, steps."""
    from resources import resource_defs
    from streamforge_assets.partitions import INSTRUMENTS

    key = cell_key(instrument, DAY)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(INSTRUMENTS.name, [instrument])
        started = time.monotonic()
        result = dg.materialize(
            _historical_assets(), instance=instance, partition_key=key, raise_on_error=False,
            selection=dg.AssetSelection.groups("historical", "store"),
            resources=resource_defs(bootstrap=broker.bootstrap, sim_url=url, home=home, store_backend="embedded"),
        )
        wall_s = time.monotonic() - started
        assert result.success, f"the pipeline run of {key} failed"
        meta = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(dataset(TRADES).asset), asset_partitions=[key]), limit=1
        ).records[0].asset_materialization.metadata
        partition = meta["partitions"].data[key]
        return {"wall_s": wall_s, "rows": partition["rows"], "source": partition["source"]["source"],
                "steps_s": _step_seconds(instance, result.run_id)}


def _okx_floor(url: str, home: Path) -> tuple[float, int]:
    """Downloading and parsing the two daily files (UTC+8 days) the UTC day is cut from: seconds and the day's rows."""
    from streamforge.dates import day_bounds_us
    from streamforge.venues.okx.files import TradeFiles
    from streamforge.venues.okx.rest import OkxRest

    with OkxRest(url) as rest:
        listing = rest.listing("okx.spot", OKX_SYMBOL)
    files = TradeFiles(url, home / "okx-floor-cache")
    started = time.monotonic()
    start, end = day_bounds_us(DAY)
    parts = [files.day(listing, d) for d in (DAY, DAY + timedelta(days=1))]
    times = [p["time"].dt.epoch("us") for p in parts]
    rows = sum(int(((t >= start) & (t < end)).sum()) for t in times)
    files.close()
    return time.monotonic() - started, rows


def run() -> dict:
    from streamforge.bus.broker import LocalBroker
    from streamforge.venues.binance.dumps import DumpClient

    home = Path(mkdtemp(prefix="sf-b2-"))
    sim, url = _start_simulator(home)
    try:
        started = time.monotonic()
        name = f"{SYMBOL}-aggTrades-{DAY}.zip"
        httpx.get(f"{url}/data/spot/daily/aggTrades/{SYMBOL}/{name}", timeout=300).raise_for_status()
        for day in (DAY, DAY + timedelta(days=1)):  # OKX's UTC+8 files of the day, generated before timing
            httpx.get(f"{url}/{trades_file(OKX_SYMBOL, day.isoformat())}", timeout=300).raise_for_status()
        generation_s = time.monotonic() - started

        with LocalBroker(home / "tansu") as broker:
            binance = _through_graph(broker, url, home, INSTRUMENT)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            okx = _through_graph(broker, url, home, OKX_INSTRUMENT)

        started = time.monotonic()
        client = DumpClient(url, home / "floor-cache")
        frame = client.read_agg_trades(client.agg_trades(SYMBOL, DAY), binance["rows"])
        floor_s = time.monotonic() - started
        assert frame.height == binance["rows"]
        okx_floor_s, okx_rows = _okx_floor(url, home)
        assert okx_rows == okx["rows"]
    finally:
        sim.terminate()
        sim.wait(30)
    pipeline_s = binance["wall_s"]
    return {
        "goal": "≤ 20 s wall and ≤ 1.5 GB peak RSS for one BTCUSDT day (2025 volume) through trades → store → candles",
        "aggregate_trades": binance["rows"],
        "pipeline_wall_s": round(pipeline_s, 2),
        "pipeline_rows_per_s": round(binance["rows"] / pipeline_s),
        "peak_rss_mb": round(peak_rss_mb),
        "steps_s": binance["steps_s"],
        "floor_download_verify_parse_s": round(floor_s, 2),
        "simulator_dump_generation_s_not_counted": round(generation_s, 2),
        "goal_met": pipeline_s <= 20 and peak_rss_mb <= 1536,
        "okx": {
            "instrument": OKX_INSTRUMENT,
            "source": okx["source"],
            "trades": okx["rows"],
            "pipeline_wall_s": round(okx["wall_s"], 2),
            "pipeline_rows_per_s": round(okx["rows"] / okx["wall_s"]),
            "steps_s": okx["steps_s"],
            "floor_download_parse_s": round(okx_floor_s, 2),
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
