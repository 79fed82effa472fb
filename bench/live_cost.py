"""The live loader's CPU per 1,000 events on B9's workload, in minutes instead of B9's forty: one shard of B9's fleet
(shard 0 of 2 of every Binance spot symbol the 200-asset universe lists) at one replay speed, in this process, against
B9's simulator (a process of its own, so its CPU is not counted) and the local broker.

CPU is this process's (psutil: the event loop, the publishing thread, Kafka's network thread, REST repairs), not wall
time, so a shared machine changes it less (it still does: a loaded machine's caches are colder); it is also given
per thread, with the Kafka messages per second of each topic (a message costs far more than a row).

`--profile FILE` profiles the loader's threads (those whose names start with one of `--threads`, all by default) with
cProfile over the same window, timed by each thread's own CPU clock (wall time would count the time a thread waits
for the GIL), and writes their merged stats to FILE and each thread's to FILE.<thread>. That clock costs a system
call per Python call: profile at a lower speed than you measure (the loader must keep up, or its books resync), and
measure and profile in separate runs.

    python -m bench.live_cost --speed 8 --seconds 30
    python -m bench.live_cost --speed 3 --seconds 30 --profile /tmp/loader.prof [--threads live-publisher]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import psutil
from kafka import KafkaConsumer, TopicPartition

from bench.b9_live_scale import SHARDS, WINDOW, _scrape, _warm, simulator
from streamforge import venues
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.heap import freeze_startup_heap
from streamforge.live.loader import LiveConfig, LoaderThread
from streamforge.live.shards import Shard
from streamforge.venues import simulator_urls

READY_S = 180
SETTLE_S = 3  # after every book synced: the snapshot burst's repairs and publishing are over


class _Snapshot:
    """What pstats.Stats takes, from a profiler still running in another thread (create_stats would disable it)."""

    def __init__(self, profile: cProfile.Profile) -> None:
        profile.snapshot_stats()
        self.stats = profile.stats

    def create_stats(self) -> None:
        pass


@contextmanager
def profiling_threads(profiles: list[tuple[str, cProfile.Profile]], names: tuple[str, ...]):
    """Every thread started inside whose name starts with one of `names` runs under a profiler of its own, appended
    to `profiles` with its name."""
    run = threading.Thread._bootstrap_inner  # not `run`, which subclasses (Kafka's sender) override

    def profiled(thread: threading.Thread) -> None:
        if not thread.name.startswith(names):
            return run(thread)
        profile = cProfile.Profile(time.thread_time)
        profiles.append((thread.name, profile))
        profile.enable()
        try:
            run(thread)
        finally:
            profile.disable()

    threading.Thread._bootstrap_inner = profiled
    try:
        yield
    finally:
        threading.Thread._bootstrap_inner = run


def _dump(profiles: list[tuple[str, cProfile.Profile]], path: Path) -> None:
    """The threads' stats merged into `path`, and each thread's into `path`.<thread name>."""
    by_thread: dict[str, pstats.Stats] = {}
    for name, profile in profiles:
        snapshot = _Snapshot(profile)
        if snapshot.stats:  # a thread that ran nothing in the window
            by_thread.setdefault(name, pstats.Stats()).add(snapshot)
    merged = pstats.Stats()
    for name, stats in by_thread.items():
        stats.dump_stats(f"{path}.{name}")
        merged.add(stats)
    merged.dump_stats(path)


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each of this process's threads, by name (same-named threads summed), user and system apart."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    by_name: dict[str, float] = {}
    for t in psutil.Process().threads():
        name = names.get(t.id, "other")
        by_name[f"{name} user"] = by_name.get(f"{name} user", 0.0) + t.user_time
        by_name[f"{name} system"] = by_name.get(f"{name} system", 0.0) + t.system_time
    return by_name


def _messages(consumer: KafkaConsumer, loader) -> dict[str, int]:
    """Messages in each of the loader's topics so far (the sum of their partitions' end offsets)."""
    ends = consumer.end_offsets([TopicPartition(spec.name, p) for spec in loader.topics.values()
                                 for p in range(spec.partitions)])
    by_dataset = {spec.name: dataset for dataset, spec in loader.topics.items()}
    counts: dict[str, int] = {}
    for tp, end in ends.items():
        counts[by_dataset[tp.topic]] = counts.get(by_dataset[tp.topic], 0) + end
    return counts


def measure(speed: float, seconds: float, profile_to: Path | None = None, threads: tuple[str, ...] = ("",)) -> dict:
    """CPU per 1,000 events of one loader shard streaming for `seconds` once every book is synced (see the module)."""
    home = Path(tempfile.mkdtemp(prefix="streamforge-live-cost-"))
    cache = Path(tempfile.gettempdir()) / "streamforge-live-cost-sim"  # the universe's days, generated once
    profiles: list[tuple[str, cProfile.Profile]] = []
    with LocalBroker(home / "broker") as broker, simulator(cache, speed) as (url, _):
        ids = _warm(url)
        urls = simulator_urls(url)
        instruments = venues.trading(["binance.spot"], urls)
        config = LiveConfig.from_settings(instruments, shard=Shard(0, SHARDS), urls=urls, home=home, http_port=0,
                                          snapshot_limit=WINDOW, snapshot_spacing_s=0.05)
        freeze_startup_heap()
        profiling = profiling_threads(profiles, threads) if profile_to else nullcontext()
        with profiling, LoaderThread(config, kafka_config(broker.bootstrap)) as loader:
            deadline = time.monotonic() + READY_S
            while loader.readiness():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the loader was not ready in {READY_S} s: {loader.readiness()}")
                time.sleep(0.5)
            time.sleep(SETTLE_S)
            metrics = f"http://127.0.0.1:{loader.http_port}/metrics"
            process = psutil.Process()
            consumer = KafkaConsumer(**kafka_config(broker.bootstrap))
            messages_before = _messages(consumer, loader)
            before, threads_before, times_before = _scrape(metrics), thread_cpu(), process.cpu_times()
            for _, profile in profiles:
                profile.clear()
            native_ids = {t.name: t.native_id for t in threading.enumerate()}  # for a profiler from outside (perf)
            print(f"measuring for {seconds:g} s; threads {native_ids}", file=sys.stderr, flush=True)
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            after, threads_after, times_after = _scrape(metrics), thread_cpu(), process.cpu_times()
            messages = {k: v - messages_before.get(k, 0) for k, v in _messages(consumer, loader).items()
                        if v > messages_before.get(k, 0)}
            consumer.close()
            if profile_to:
                _dump(profiles, profile_to)
    events = after["events"] - before["events"]
    cpu = (times_after.user + times_after.system) - (times_before.user + times_before.system)
    return {
        "speed": speed,
        "instruments": len(loader.states),
        "universe_symbols": len(ids),
        "seconds": round(elapsed, 1),
        "events": int(events),
        "events_per_s": round(events / elapsed),
        "cpu_cores": round(cpu / elapsed, 3),
        "cpu_s_per_1000_events": round(1000 * cpu / events, 4),
        "cpu_percent_per_1000_events_per_s": round(100 * cpu / elapsed / (events / elapsed / 1000), 2),
        "kafka_messages_per_s": {k: round(v / elapsed, 1) for k, v in sorted(messages.items())},
        "cpu_s_by_thread": {k: round(v - threads_before.get(k, 0.0), 2) for k, v in sorted(threads_after.items())
                            if v - threads_before.get(k, 0.0) >= 0.05},
        "profiled": bool(profile_to),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--threads", nargs="*", default=[""], help="profile only threads whose names start so")
    args = parser.parse_args()
    print(json.dumps(measure(args.speed, args.seconds, args.profile, tuple(args.threads)), indent=1))
