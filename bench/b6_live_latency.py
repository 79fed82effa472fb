"""B6 live path: WebSocket receive → Kafka acknowledgement latency and loader CPU, micro-batched vs one message per event.

The simulator runs in a process of its own, replaying the market fast enough for ~2,000 events/s over 5 Binance spot
instruments (trades, depth diffs and bookTickers — each at most one per 100 ms of the replayed market —, klines); the
broker is the local Tansu. Both variants read the same combined stream, with the same WebSocket compression
(STREAMFORGE_LIVE_WS_COMPRESSION):
- `loader`: the live loader (parse, gap/duplicate checks, local books, Arrow micro-batches per Kafka partition);
- `baseline`: one JSON message per event sent as received, no batching, nothing checked.
The OKX case runs the loader alone on the same five assets' OKX spot instruments at the same replay speed (trades,
400-level books chained by seqId with checksums, bbo-tbt, candles on a second connection); the USD-M case on their
Binance perpetuals (depth@100ms books by the pu chain and bookTicker on fstream's /public route; aggTrade,
markPrice@1s, forceOrder and kline_1m on /market). Latency is per event, from the moment its WebSocket message was
received to the broker's acknowledgement of the message holding it, over every topic an event goes to (trades,
depth, klines, top of book, mark prices, liquidations; not the periodic book snapshots). CPU is this process's (the
loader's) CPU time over the run. Zero loss: the agg ids in Kafka are contiguous, without duplicates, and are the
simulator's market's trades with those ids (OKX's ids are not contiguous: every trade of the market between the
first and the last).

`live_pipeline()` is the hook for the dashboard's own measurement (event → browser): it yields a running simulator,
broker and loader under the same load.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
from kafka import KafkaProducer
from websockets.asyncio.client import connect

from bench.headline import Figure
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.publisher import producer_settings
from streamforge.bus.topics import TopicSpec, build_topics, ensure_topics, topic
from streamforge.catalog import DEPTH, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES, TOP
from streamforge.heap import freeze_startup_heap
from streamforge.instruments import parse_instrument
from streamforge.live.connection import compression
from streamforge.live.loader import LiveConfig, LoaderThread
from streamforge.live.soak import SYMBOLS, id_problems, read_frame
from streamforge.net import free_port, wait_http
from streamforge.schemas import INSTRUMENT
from streamforge.sim.book import update_id
from streamforge.sim.market import Market
from streamforge.venues import simulator_urls
from streamforge_app.stack import stop_process

HEADLINE = (
    Figure("WebSocket receive → Kafka ack p99 at 2,000 events/s, ms", "loader.latency_p99_ms",
           "baseline_json_per_event.latency_p99_ms", "one JSON message per event", goal=100),
    Figure("no event lost or duplicated", "loader.zero_loss", goal=True),
    Figure("loader CPU per 1,000 events/s, % of a core", "loader.cpu_percent_per_1000_events_per_s",
           "baseline_json_per_event.cpu_percent_per_1000_events_per_s", "one JSON message per event"),
    Figure("OKX (5 spot instruments, books by seqId + checksum): receive → Kafka ack p99, ms", "okx.latency_p99_ms", goal=100),
    Figure("OKX: no trade lost or duplicated", "okx.zero_loss", goal=True),
    Figure("USD-M (5 perpetuals, routed /public + /market, books by the pu chain): receive → Kafka ack p99, ms",
           "usdm.latency_p99_ms", goal=100),
    Figure("USD-M: no trade lost or duplicated", "usdm.zero_loss", goal=True),
)
BINANCE = tuple(f"binance.spot.{symbol}" for symbol in SYMBOLS)
OKX = tuple(f"okx.spot.{symbol.removesuffix('USDT')}-USDT" for symbol in SYMBOLS)  # the same five assets on OKX
USDM = tuple(f"binance.usdm.{symbol}" for symbol in SYMBOLS)  # and their USD-M perpetuals
TARGET_EVENTS_PER_S = 2_000
SEED = 7
SIM_TICK_MS = 50  # the simulator sends what happened every 50 ms
SNAPSHOT_LIMIT = 1000  # levels per side of the loader's snapshots
DEPTH_WINDOW = 200  # levels per side the replayed diffs keep exact


def calibrated_speed(target: float = TARGET_EVENTS_PER_S) -> float:
    """Market seconds per second that give `target` events/s on the Binance spot instruments: trades at the coming
    hour's rate, plus the depth diffs and bookTickers of the coming minute (one per 100 ms of market time in which
    the book, or its best bid or ask, changed)."""
    market, now = Market(SEED), time.time_ns() // 1000
    hour = 3_600_000_000
    trades_per_s = sum(market.agg_trades(i, now, now + hour).height for i in BINANCE) / 3_600
    first = update_id(now) + 1
    diffs = market.depth_diffs([(i, u, u) for i in BINANCE for u in range(first, first + 600)], DEPTH_WINDOW)
    depth_per_s = len(set(diffs.request.tolist())) / 60
    tops = market.book_tops([(i, first - 1, first + 599) for i in BINANCE])
    tickers_per_s = sum(int((t[1:] != t[:-1]).any(axis=1).sum()) for t in tops) / 60
    return max(target / (trades_per_s + depth_per_s + tickers_per_s), 1.0)


@contextmanager
def simulator(speed: float, home: Path, instruments: tuple[str, ...] = BINANCE) -> Iterator[str]:
    """The simulator in its own process, so its CPU is not counted as the loader's; the days of the spot symbols (and
    of `instruments`' perpetuals) are generated before the loader's clock matters."""
    port = free_port()
    env = os.environ | {
        "STREAMFORGE_SIM_PORT": str(port), "STREAMFORGE_SIM_SPEED": f"{speed:.3f}", "STREAMFORGE_SIM_SEED": str(SEED),
        "STREAMFORGE_SIM_DEPTH_WINDOW": str(DEPTH_WINDOW), "STREAMFORGE_SIM_WS_TICK_MS": str(SIM_TICK_MS), "STREAMFORGE_SIM_CACHE": str(home / "sim-cache"),
        "STREAMFORGE_SIM_FAULTS": "",
    }
    proc = subprocess.Popen([sys.executable, "-m", "streamforge.sim"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v3/ping", 30, proc, "the simulator")
        first_trades = [f"/api/v3/aggTrades?symbol={symbol}" for symbol in SYMBOLS]
        first_trades += [f"/fapi/v1/aggTrades?symbol={parse_instrument(i).symbol}" for i in instruments if i in USDM]
        for path in first_trades:  # generate the day before the clock matters
            wait_http(f"{url}{path}&limit=1", 60, proc, "the simulator")
        yield url
    finally:
        stop_process(proc, signal.SIGTERM)


@contextmanager
def live_pipeline(
    speed: float | None = None, on_acked=None, instruments: tuple[str, ...] = BINANCE
) -> Iterator[tuple[str, dict, LoaderThread]]:
    """(simulator URL, Kafka config, running LoaderThread — `.loader`, `.stop()`) streaming ~2,000 events/s:
    the hook for the dashboard's own measurement (event → browser) under the same load."""
    home = Path(tempfile.mkdtemp(prefix="streamforge-b6-"))
    freeze_startup_heap()  # as `streamforge live` does before it starts its loader
    with LocalBroker(home / "broker") as broker, simulator(speed or calibrated_speed(), home, instruments) as url:
        kafka = kafka_config(broker.bootstrap)
        config = LiveConfig.from_settings(list(instruments), urls=simulator_urls(url), home=home, http_port=0,
                                          snapshot_limit=SNAPSHOT_LIMIT)
        thread = LoaderThread(config, kafka, on_acked)
        with thread:
            yield url, kafka, thread


def summary(latencies_ns: list[int], cpu_s: float, seconds: float, events: int) -> dict:
    ms = np.array(latencies_ns) / 1e6
    rate = events / seconds
    return {
        "events": events,
        "events_per_s": round(rate),
        "latency_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "latency_p99_ms": round(float(np.percentile(ms, 99)), 2),
        "latency_max_ms": round(float(ms.max()), 1),
        "cpu_cores": round(cpu_s / seconds, 3),
        "cpu_percent_per_1000_events_per_s": round(100 * cpu_s / seconds / (rate / 1000), 1),
    }


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def measure_loader(duration_s: float, speed: float, instruments: tuple[str, ...] = BINANCE) -> dict:
    latencies: list[int] = []
    event_datasets = (LIVE_TRADES, DEPTH, LIVE_KLINES_1M, TOP, LIVE_MARK_PRICE, LIVE_LIQUIDATIONS)
    counted = {spec.name for spec in build_topics() if spec.dataset in event_datasets}
    lock = threading.Lock()

    def acked(topic: str, received_ns: list[int]) -> None:
        if topic in counted:
            now = time.time_ns()
            with lock:
                latencies.extend(now - r for r in received_ns)

    with live_pipeline(speed, acked, instruments) as (url, kafka, thread):
        loader = thread.loader
        time.sleep(3)  # books synced, first day generated: measure the steady state
        with lock:
            latencies.clear()
        events_before, cpu_before, started = _events(loader), cpu_seconds(), time.monotonic()
        time.sleep(duration_s)
        events, cpu, seconds = _events(loader) - events_before, cpu_seconds() - cpu_before, time.monotonic() - started
        with lock:
            result = summary(list(latencies), cpu, seconds, events)
        thread.stop()  # everything it received is now published
        trades = read_frame(kafka, topic(LIVE_TRADES, build_topics()))
    missing, duplicates = id_problems(trades)
    if instruments == OKX:  # ids not contiguous: complete means the market's trades between the first and the last
        result["zero_loss"] = not any(duplicates.values()) and _okx_complete(trades)
    else:
        clean = not any(missing.values()) and not any(duplicates.values())
        result["zero_loss"] = clean and _matches_market(trades, instruments)
    result["trades_in_kafka"] = trades.height
    return result


def _events(loader) -> int:
    loader.metrics.render()  # brings the event counters up to date (they are counted lazily)
    return int(sum(s.value for m in loader.metrics.events.collect() for s in m.samples if s.name.endswith("_total")))


def _matches_market(trades, instruments: tuple[str, ...]) -> bool:
    """Every published trade is the market's trade with that id (the simulator's REST/dump truth); a perpetual's
    without `is_best_match`, which futures do not send."""
    market = Market(SEED)
    for instrument in instruments:
        mine = trades.filter(trades[INSTRUMENT] == instrument).sort("agg_id")
        if mine.is_empty():
            return False
        truth = market.agg_trades_from_id(instrument, mine["agg_id"][0], 2**62, mine.height)
        if instrument in USDM:
            mine, truth = mine.drop("is_best_match"), truth.drop("is_best_match")
        if not truth.equals(mine):
            return False
    return True


def _okx_complete(trades) -> bool:
    """Each OKX instrument's published trade ids are exactly the market's trades from its first to its last."""
    market = Market(SEED)
    for instrument in OKX:
        mine = trades.filter(trades[INSTRUMENT] == instrument)
        if mine.is_empty():
            return False
        first, last = (int(t.timestamp() * 1e6) for t in (mine["time"].min(), mine["time"].max()))
        if mine["agg_id"].sort().to_list() != market.agg_trades(instrument, first, last + 1)["first_trade_id"].to_list():
            return False
    return True


def measure_baseline(duration_s: float, speed: float) -> dict:
    """One JSON message per event, sent as it arrives (linger 0), acknowledged one by one."""
    home = Path(tempfile.mkdtemp(prefix="streamforge-b6-base-"))
    latencies: list[int] = []
    with LocalBroker(home / "broker") as broker, simulator(speed, home) as url:
        kafka = kafka_config(broker.bootstrap)
        spec = TopicSpec("baseline-json", "bench.live-json", None, 6, 1, 86_400_000, "delete", "one JSON event per message")
        ensure_topics(kafka, (spec,))
        producer = KafkaProducer(**(producer_settings(kafka) | {"linger_ms": 0}))
        streams = "/".join(f"{s.lower()}@{k}" for s in SYMBOLS for k in ("aggTrade", "depth@100ms", "kline_1m", "bookTicker"))

        def ack(received: int):
            return lambda _meta: latencies.append(time.time_ns() - received)

        async def run() -> tuple[int, float, float]:
            async with connect(f"{url.replace('http', 'ws')}/stream?streams={streams}&timeUnit=MICROSECOND", ping_interval=None,
                               max_size=2**24, compression=compression()) as ws:
                deadline = time.monotonic() + 3 + duration_s
                events = 0
                cpu_before = started = None
                while (now := time.monotonic()) < deadline:
                    raw = await ws.recv()
                    received = time.time_ns()
                    if started is None and now >= deadline - duration_s:
                        latencies.clear()
                        events, cpu_before, started = 0, cpu_seconds(), now
                    symbol = raw[raw.find('"s":"') + 5 : raw.find('"', raw.find('"s":"') + 5)]
                    producer.send(spec.name, value=raw.encode(), key=symbol.encode()).add_callback(ack(received))
                    events += 1
                return events, cpu_seconds() - cpu_before, time.monotonic() - started

        events, cpu, seconds = asyncio.run(run())
        producer.flush(timeout=30)
        producer.close()
    return summary(latencies, cpu, seconds, events)


def run(duration_s: float = 60) -> dict:
    speed = calibrated_speed()
    return {
        "goal": "WebSocket receive → Kafka ack p99 ≤ 100 ms at 2,000 events/s over 5 instruments, zero loss",
        "duration_s": duration_s,
        "simulator_speed": round(speed, 1),
        "depth_levels_per_side": {"snapshot": SNAPSHOT_LIMIT, "diff_window": DEPTH_WINDOW},
        "loader": measure_loader(duration_s, speed),
        "baseline_json_per_event": measure_baseline(duration_s, speed),
        "okx": {"instruments": list(OKX)} | measure_loader(duration_s, speed, OKX),
        "usdm": {"instruments": list(USDM)} | measure_loader(duration_s, speed, USDM),
        "cpu": f"{psutil.cpu_count()} CPUs; simulator and broker in other processes",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 60), indent=1))
