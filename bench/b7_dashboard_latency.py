"""B7 — event → dashboard client latency: trades published into Kafka at a set rate, timed when a WebSocket client of
`streamforge dashboard` receives them.

The dashboard runs as its own process (`streamforge dashboard`, as deployed) against a local Tansu broker; one client
per instrument subscribes like the page does. Trades are published the way the live loader publishes them
(`publisher.send_rows`: each instrument's partition, one Arrow batch per partition and day holding every instrument of
it), every 20 ms (STREAMFORGE_LIVE_BATCH_MS), each trade stamped with its own event time spread over that 20 ms, so
the wait in the loader's micro-batch is part of the latency. The client stamps each trade on receipt (same machine, same clock) and reports receive - event time.

Side by side in the same run:
- streamforge: pushes coalesced per instrument every STREAMFORGE_DASHBOARD_PUSH_MS (default 25 ms);
- baseline_no_coalescing: the same path with PUSH_MS=0, every Kafka poll's changes pushed at once.
The tape is widened (STREAMFORGE_DASHBOARD_TAPE) so every trade reaches the client in both modes and `delivered`
means what it says. The dashboard's CPU is its process's CPU time over the measured window.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import psutil
from websockets.asyncio.client import connect

from bench.headline import Figure
from streamforge import settings
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.publisher import shared_producer
from streamforge.bus.topics import build_topics, ensure_topics, topic
from streamforge.catalog import BOOK, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES
from streamforge.live.publisher import send_rows
from streamforge.net import free_port, wait_http
from streamforge.schemas import AGG_TRADE

HEADLINE = (
    Figure("event → browser p99 at 2,000 events/s, ms", "streamforge.latency_p99_ms",
           "baseline_no_coalescing.latency_p99_ms", "no coalescing", goal=100),
    Figure("messages to each browser per s", "streamforge.client_messages_per_s",
           "baseline_no_coalescing.client_messages_per_s", "no coalescing"),
)
INSTRUMENTS = [f"binance.spot.{s}" for s in ("ETHUSDT", "BTCUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")]
TICK_S = 0.02  # the live loader's micro-batch (STREAMFORGE_LIVE_BATCH_MS)
WARMUP_S = 2.0  # latencies of the first seconds (connections, JIT of the first pushes) are not counted


def now_us() -> int:
    return time.time_ns() // 1000


class Clients:
    """One WebSocket client per instrument in a thread of its own: receive time - event time of every trade pushed."""

    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://") + "/ws"
        self.received: dict[str, list[tuple[int, int]]] = {s: [] for s in INSTRUMENTS}  # (agg_id, latency_us)
        self.messages = self.bytes = 0
        self._subscribed = threading.Barrier(len(INSTRUMENTS) + 1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._subscribed.wait(timeout=30)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _run(self) -> None:
        await asyncio.gather(*(self._client(instrument) for instrument in INSTRUMENTS))

    async def _client(self, instrument: str) -> None:
        async with connect(self.url, max_size=None) as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"subscribe": instrument}))
            await asyncio.to_thread(self._subscribed.wait, 30)
            while not self._stop.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                received = now_us()
                message = json.loads(text)
                if message["type"] != "update":
                    continue
                self.messages += 1
                self.bytes += len(text)
                self.received[instrument] += [(agg_id, received - time_us) for time_us, _, _, _, agg_id in message["trades"]]


def _publish(bootstrap: str, prefix: str, rate: float, seconds: float, warm, counted) -> None:
    """Publish `rate` trades/s over INSTRUMENTS for `seconds`, in a process of its own so that neither the dashboard nor
    the clients share its CPU; set `warm` after WARMUP_S and put {instrument: first id published after it} on `counted`."""
    os.environ["STREAMFORGE_TOPIC_PREFIX"] = prefix  # a process of its own
    spec = topic(LIVE_TRADES, build_topics())
    producer = shared_producer(kafka_config(bootstrap))
    per_tick = max(1, round(rate * TICK_S / len(INSTRUMENTS)))
    next_id = dict.fromkeys(INSTRUMENTS, 1)
    first_counted: dict[str, int] = {}
    rng = np.random.default_rng(7)
    start = next_tick = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        if not first_counted and elapsed >= WARMUP_S:
            first_counted = dict(next_id)
            warm.set()
        end = now_us()
        rows = []
        for instrument in INSTRUMENTS:
            ids = range(next_id[instrument], next_id[instrument] + per_tick)
            next_id[instrument] += per_tick
            prices, qtys, makers = 100 + rng.random(per_tick), rng.random(per_tick), rng.random(per_tick) < 0.5
            rows += [
                {"instrument": instrument, "agg_id": agg_id, "price": float(prices[i]), "qty": float(qtys[i]),
                 "first_trade_id": agg_id, "last_trade_id": agg_id,
                 "time": end - int(TICK_S * 1e6 * (per_tick - 1 - i) / per_tick), "is_buyer_maker": bool(makers[i]),
                 "is_best_match": True, "contract_size": None}
                for i, agg_id in enumerate(ids)
            ]
        send_rows(producer, spec, rows, AGG_TRADE.time_column)
        next_tick += TICK_S
        time.sleep(max(0.0, next_tick - time.monotonic()))
    producer.flush()
    counted.put({instrument: (first, next_id[instrument] - 1) for instrument, first in first_counted.items()})


@contextmanager
def _dashboard(env: dict, topics: int) -> Iterator[tuple[str, psutil.Process]]:
    """`streamforge dashboard` in its own process, once it has assigned all `topics` partitions."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamforge_app.cli", "dashboard", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", 30, proc, "the dashboard")
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/healthz").json()["kafka"]["partitions"] < topics and time.monotonic() < deadline:
            time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _measure(broker: LocalBroker, home: str, mode: str, push_ms: int, rate: float, seconds: float) -> dict:
    env = {**os.environ, "STREAMFORGE_HOME": home, "STREAMFORGE_KAFKA_BOOTSTRAP": broker.bootstrap,
           "STREAMFORGE_TOPIC_PREFIX": f"b7-{mode}", "STREAMFORGE_DASHBOARD_PUSH_MS": str(push_ms),
           "STREAMFORGE_DASHBOARD_TAPE": "500", "STREAMFORGE_DASHBOARD_METRICS_URL": "http://127.0.0.1:9/metrics"}
    os.environ["STREAMFORGE_TOPIC_PREFIX"] = env["STREAMFORGE_TOPIC_PREFIX"]  # each benchmark has its own process
    topics = build_topics()
    # Every topic the dashboard reads, as the live loader creates them: a missing one would be looked for all along.
    live = tuple(topic(name, topics) for name in (LIVE_TRADES, LIVE_KLINES_1M, BOOK, LIVE_MARK_PRICE, LIVE_LIQUIDATIONS))
    kafka = kafka_config(broker.bootstrap)
    ensure_topics(kafka, live)
    with _dashboard(env, sum(spec.partitions for spec in live)) as (url, process):
        clients = Clients(url)
        clients.start()
        spawn = multiprocessing.get_context("spawn")
        warm, counted = spawn.Event(), spawn.Queue()
        publisher = spawn.Process(target=_publish, args=(broker.bootstrap, env["STREAMFORGE_TOPIC_PREFIX"], rate, seconds, warm, counted))
        publisher.start()
        warm.wait(timeout=60)
        clients.messages = clients.bytes = 0
        started, cpu_before = time.monotonic(), sum(process.cpu_times()[:2])
        ranges = counted.get(timeout=seconds + 60)
        publisher.join()
        time.sleep(1.0)  # the last pushes
        window_s, cpu_s = time.monotonic() - started, sum(process.cpu_times()[:2]) - cpu_before
        clients.stop()
    latencies, sent, delivered = [], 0, 0
    for instrument, (first, last) in ranges.items():
        mine = {agg_id: latency for agg_id, latency in clients.received[instrument] if first <= agg_id <= last}
        latencies += mine.values()
        sent, delivered = sent + last - first + 1, delivered + len(mine)
    latency_ms = np.array(latencies) / 1000
    return {
        "push_ms": push_ms,
        "latency_p50_ms": round(float(np.percentile(latency_ms, 50)), 1),
        "latency_p99_ms": round(float(np.percentile(latency_ms, 99)), 1),
        "latency_max_ms": round(float(latency_ms.max()), 1),
        "trades_published": sent,
        "trades_delivered": delivered,
        "client_messages_per_s": round(clients.messages / window_s, 1),
        "client_kb_per_s": round(clients.bytes / window_s / 1000, 1),
        "dashboard_cpu_percent": round(100 * cpu_s / window_s, 1),
    }


def run(rate: float = 2000, seconds: float = 60) -> dict:
    with tempfile.TemporaryDirectory() as home, LocalBroker(Path(home) / "tansu", stop_timeout_s=2) as broker:
        modes = {"streamforge": int(settings.get("STREAMFORGE_DASHBOARD_PUSH_MS")), "baseline_no_coalescing": 0}
        results = {mode: _measure(broker, home, mode, push_ms, rate, seconds) for mode, push_ms in modes.items()}
    return {
        "goal": "event → dashboard client p99 ≤ 100 ms at 2,000 events/s over 5 instruments, every trade delivered",
        "events_per_s": rate,
        "instruments": len(INSTRUMENTS),
        "seconds": seconds,
        **results,
    }


if __name__ == "__main__":
    print(json.dumps(run(*map(float, sys.argv[1:])), indent=1))
