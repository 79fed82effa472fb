"""`streamforge demo-live` (`make demo-live`): scenario 2 for a bounded time, then what happened.

Starts the simulator (its WebSocket streams), a local broker, the live loader and the dashboard, lets them run,
connects to the dashboard's WebSocket as a browser would, and then reads the live topics back to show that every
aggregate trade id arrived once and in order. With `chaos`, the simulator drops, duplicates, reorders and breaks
events and cuts the connection every few seconds, so the repair paths show in the numbers.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, fields

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from streamforge.bus.config import kafka_config
from streamforge.bus.topics import build_topics
from streamforge.catalog import BOOK, DEPTH, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES
from streamforge.dashboard.app import running_dashboard
from streamforge.dashboard.config import DashboardConfig
from streamforge.live.loader import LiveConfig, LoaderThread
from streamforge.live.soak import chaos_faults, id_problems, read_frame
from streamforge.net import free_port
from streamforge.schemas import INSTRUMENT
from streamforge.sim.faults import Faults
from streamforge_app.stack import Stack

METRICS = {
    "streamforge_live_events_total": "events received",
    "streamforge_live_reconnects_total": "reconnects",
    "streamforge_live_gap_ids_repaired_total": "ids repaired by REST",
    "streamforge_live_duplicates_dropped_total": "duplicates dropped",
    "streamforge_live_book_resyncs_total": "book resyncs",
    "streamforge_live_dead_letters_total": "dead letters",
    "streamforge_live_unpublished_rows_total": "rows not published",
}


@dataclass
class LiveDemoReport:
    seconds: float
    rows_per_topic: dict[str, int]
    trades_per_instrument: dict[str, int]
    missing_ids: dict[str, int]
    duplicate_ids: dict[str, int]
    loader: dict[str, float]
    publish_latency_p50_ms: float | None
    dashboard_messages: int
    dashboard_url: str

    @property
    def ok(self) -> bool:
        return (
            sum(self.trades_per_instrument.values()) > 0
            and not any(self.missing_ids.values())
            and not any(self.duplicate_ids.values())
            and self.dashboard_messages > 0
        )


def _loader_numbers(metrics_text: str) -> tuple[dict[str, float], float | None]:
    totals: dict[str, float] = {}
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name in METRICS:
                totals[METRICS[sample.name]] = totals.get(METRICS[sample.name], 0) + sample.value
            if sample.name == "streamforge_live_publish_latency_seconds_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
    total = buckets[-1][1] if buckets else 0
    p50 = next((le * 1000 for le, count in buckets if count >= total / 2), None) if total else None
    return totals, p50


async def _watch_dashboard(url: str, instrument: str, seconds: float) -> int:
    """Messages a browser-like client of the dashboard received in `seconds`."""
    received, deadline = 0, time.monotonic() + seconds
    async with websockets.connect(url.replace("http://", "ws://") + "/ws") as socket:
        await socket.send(json.dumps({"subscribe": instrument}))
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(socket.recv(), timeout=left)
                received += 1
            except TimeoutError:
                break
    return received


def _fault_setting(faults: Faults) -> str:
    """The STREAMFORGE_SIM_FAULTS text of `faults` (only what differs from no faults)."""
    none = Faults()
    return ",".join(f"{f.name}={getattr(faults, f.name)}" for f in fields(faults) if getattr(faults, f.name) != getattr(none, f.name))


def run(instruments: list[str], seconds: float, chaos: bool = False) -> LiveDemoReport:
    sim_env = {"STREAMFORGE_SIM_FAULTS": _fault_setting(chaos_faults(5))} if chaos else {}
    with Stack(dagster=False, sim_env=sim_env):
        kafka = kafka_config()
        config = LiveConfig.from_settings(instruments, http_port=free_port())
        started = time.monotonic()
        with LoaderThread(config, kafka), running_dashboard(DashboardConfig.from_settings()) as dashboard:
            messages = asyncio.run(_watch_dashboard(dashboard, instruments[0], seconds))
            metrics = httpx.get(f"http://127.0.0.1:{config.http_port}/metrics", timeout=10).text
        elapsed = time.monotonic() - started
        topics = {spec.dataset: spec for spec in build_topics()}
        shown = (LIVE_TRADES, LIVE_KLINES_1M, DEPTH, BOOK, LIVE_MARK_PRICE, LIVE_LIQUIDATIONS)
        frames = {name: read_frame(kafka, topics[name]) for name in shown}
    trades = frames[LIVE_TRADES]
    missing, duplicates = id_problems(trades)
    loader, p50 = _loader_numbers(metrics)
    return LiveDemoReport(
        seconds=round(elapsed, 1),
        rows_per_topic={topics[k].name: f.height for k, f in frames.items()},
        trades_per_instrument={s: trades.filter(trades[INSTRUMENT] == s).height for s in instruments},
        missing_ids=missing,
        duplicate_ids=duplicates,
        loader=loader,
        publish_latency_p50_ms=p50,
        dashboard_messages=messages,
        dashboard_url=dashboard,
    )
