"""B2: one BTCUSDT day at 2025 volume (~1.5M aggregate trades) from the simulator's dump file through the whole
historical graph — trades → Kafka → candles_1m/5m (+ their checks against the exchange's klines) → store — in one
Dagster run on real parts. Goal: ≤ 20 s and ≤ 1.5 GB peak RSS on 2 cores.

The futures case, in a second run on the same parts: the BTCUSDT perpetual's day (~2.3M aggregate trades, 1.5×
spot's) from the data/futures/um dump file through trades, candles and their kline checks, mark and index klines,
funding and open interest, into the store, and its basis beside the spot day the first run stored. Same goals.

The OKX case, a third run: one OKX BTC-USDT day (~380k trades) cut from its two UTC+8 daily files through trades and
candles (checked against OKX's own candles) into the store.

Beside each, in the same run, the floor: only downloading, verifying and parsing the same dump file, which any
pipeline has to do. The simulator runs in its own process, and its one-off generation of the files is timed
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
SPOT, PERP = f"binance.spot.{SYMBOL}", f"binance.usdm.{SYMBOL}"
OKX_SYMBOL = "BTC-USDT"
OKX = f"okx.spot.{OKX_SYMBOL}"
HEADLINE = (
    Figure("one BTCUSDT day through the graph, s", "pipeline_wall_s", "floor_download_verify_parse_s",
           "download, verify and parse only", goal=20),
    Figure("peak RSS, MB", "peak_rss_mb", goal=1536),
    Figure("one BTCUSDT perpetual day through the graph and basis, s", "futures.pipeline_wall_s",
           "futures.floor_download_verify_parse_s", "download, verify and parse only", goal=20),
    Figure("peak RSS after the perpetual day too, MB", "futures.peak_rss_mb", goal=1536),
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


def _pipeline(instance: dg.DagsterInstance, resources: dict, instrument: str) -> dict:
    """One Dagster run of the instrument's historical graph for DAY: wall time, rows, peak RSS so far, step times."""
    from streamforge.catalog import cell_key, historical_assets
    from streamforge.instruments import parse_instrument

    key = cell_key(instrument, DAY)
    selection = [dg.AssetKey(a.split("/")) for a in historical_assets(parse_instrument(instrument).market_id)]
    started = time.monotonic()
    result = dg.materialize(_historical_assets(), instance=instance, partition_key=key, raise_on_error=False,
                            selection=selection, resources=resources)
    wall_s = time.monotonic() - started
    assert result.success, f"the pipeline run of {instrument} failed"
    meta = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(dataset(TRADES).asset), asset_partitions=[key]), limit=1
    ).records[0].asset_materialization.metadata
    return {
        "wall_s": wall_s,
        "rows": meta["partitions"].data[key]["rows"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps_s": _step_seconds(instance, result.run_id),
    }


def _warm_futures(url: str) -> None:
    """Have the simulator generate what the perpetual's run will ask for (its dump files, the month's funding, the
    day's mark and index prices), so that its one-off generation does not count against the pipeline."""
    from streamforge.dates import day_bounds_us
    from streamforge.venues.binance.usdm import dumps as usdm_dumps

    for path in (usdm_dumps.agg_trades_path(SYMBOL, DAY), usdm_dumps.funding_path(SYMBOL, DAY)):
        httpx.get(f"{url}/{path}", timeout=600).raise_for_status()
    start_ms = day_bounds_us(DAY)[0] // 1000
    for kind, key in (("markPriceKlines", "symbol"), ("indexPriceKlines", "pair")):
        params = {key: SYMBOL, "interval": "1m", "startTime": start_ms, "limit": 1}
        httpx.get(f"{url}/fapi/v1/{kind}", params=params, timeout=600).raise_for_status()


def _floor(read, rows: int) -> float:
    started = time.monotonic()
    assert read().height == rows
    return time.monotonic() - started


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
    times = [files.day(listing, d)["time"].dt.epoch("us") for d in (DAY, DAY + timedelta(days=1))]
    rows = sum(int(((t >= start) & (t < end)).sum()) for t in times)
    files.close()
    return time.monotonic() - started, rows


def run() -> dict:
    from resources import resource_defs
    from streamforge.bus.broker import LocalBroker
    from streamforge.venues.binance.dumps import DumpClient
    from streamforge.venues.binance.usdm import dumps as usdm_dumps
    from streamforge_assets.partitions import INSTRUMENTS

    home = Path(mkdtemp(prefix="sf-b2-"))
    sim, url = _start_simulator(home)
    try:
        started = time.monotonic()
        spot_path = f"data/spot/daily/aggTrades/{SYMBOL}/{SYMBOL}-aggTrades-{DAY}.zip"
        httpx.get(f"{url}/{spot_path}", timeout=300).raise_for_status()
        generation_s = time.monotonic() - started
        started = time.monotonic()
        _warm_futures(url)
        futures_generation_s = time.monotonic() - started
        for day in (DAY, DAY + timedelta(days=1)):  # OKX's UTC+8 files of the day, generated before timing
            httpx.get(f"{url}/{trades_file(OKX_SYMBOL, day.isoformat())}", timeout=300).raise_for_status()

        with LocalBroker(home / "tansu") as broker, dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(INSTRUMENTS.name, [SPOT, PERP, OKX])
            resources = resource_defs(bootstrap=broker.bootstrap, sim_url=url, home=home, store_backend="embedded")
            spot = _pipeline(instance, resources, SPOT)
            perp = _pipeline(instance, resources, PERP)
            okx = _pipeline(instance, resources, OKX)
        pipeline_s, rows, peak_rss_mb, steps = spot["wall_s"], spot["rows"], spot["peak_rss_mb"], spot["steps_s"]

        client = DumpClient(url, home / "floor-cache")
        floor_s = _floor(lambda: client.read_agg_trades(client.agg_trades(SYMBOL, DAY), rows), rows)
        futures_client = DumpClient(url, home / "floor-cache")
        futures_floor_s = _floor(
            lambda: usdm_dumps.read_agg_trades(futures_client.fetch(usdm_dumps.agg_trades_path(SYMBOL, DAY)), perp["rows"]),
            perp["rows"],
        )
        okx_floor_s, okx_rows = _okx_floor(url, home)
        assert okx_rows == okx["rows"]
    finally:
        sim.terminate()
        sim.wait(30)
    return {
        "goal": "≤ 20 s wall and ≤ 1.5 GB peak RSS for one BTCUSDT day (2025 volume) through trades → store → candles",
        "aggregate_trades": rows,
        "pipeline_wall_s": round(pipeline_s, 2),
        "pipeline_rows_per_s": round(rows / pipeline_s),
        "peak_rss_mb": round(peak_rss_mb),
        "steps_s": steps,
        "floor_download_verify_parse_s": round(floor_s, 2),
        "simulator_dump_generation_s_not_counted": round(generation_s, 2),
        "goal_met": pipeline_s <= 20 and peak_rss_mb <= 1536,
        "futures": {
            "aggregate_trades": perp["rows"],
            "pipeline_wall_s": round(perp["wall_s"], 2),
            "pipeline_rows_per_s": round(perp["rows"] / perp["wall_s"]),
            "peak_rss_mb": round(perp["peak_rss_mb"]),
            "steps_s": perp["steps_s"],
            "floor_download_verify_parse_s": round(futures_floor_s, 2),
            "simulator_dump_generation_s_not_counted": round(futures_generation_s, 2),
            "goal_met": perp["wall_s"] <= 20 and perp["peak_rss_mb"] <= 1536,
        },
        "okx": {
            "instrument": OKX,
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
