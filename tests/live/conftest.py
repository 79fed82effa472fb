"""Live-loader fixtures: one real simulator (WebSocket + REST) and the session's real broker; nothing is mocked.

Each test gets its own topic prefix, so it reads back exactly what its own loader published, and the simulator's
faults are cleared after it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest
from kafka import KafkaConsumer, TopicPartition

from streamforge.bus import codec
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, build_topics
from streamforge.live.loader import LiveConfig
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig

SEED = 7
SPEED = 4.0  # four market seconds per second: more trades per test second, klines close every 15 s
WINDOW = 100
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]  # depth levels the simulator keeps exact; the loader's snapshots take as many


@pytest.fixture(scope="session")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = SimConfig(
        seed=SEED, volume=1.0, speed=SPEED, depth_window=WINDOW, ws_ping_s=0.5, ws_pong_timeout_s=1.0,
        cache_dir=tmp_path_factory.mktemp("sim-cache"),
    )
    with running_simulator(config) as url:
        for symbol in SYMBOLS:  # generate today's market once, before any test's clock runs
            httpx.get(f"{url}/api/v3/aggTrades", params={"symbol": symbol, "limit": 1}, timeout=60)
        yield url


@pytest.fixture
def sim(sim_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim_url, timeout=30) as client:
        yield client
        client.post("/sim/faults", json={})
        client.post("/sim/reset")


@pytest.fixture
def kafka(broker, monkeypatch) -> dict:
    monkeypatch.setenv("STREAMFORGE_TOPIC_PREFIX", f"live-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", "2")
    return kafka_config(broker.bootstrap)


@pytest.fixture
def live_config(sim_url: str, tmp_path: Path):
    def make(symbols: list[str], **overrides: object) -> LiveConfig:
        values = dict(
            ws_url=sim_url.replace("http://", "ws://"), rest_url=sim_url, home=tmp_path, http_port=0,
            snapshot_limit=WINDOW, snapshot_spacing_s=0.05, book_interval_s=0.5, stall_s=3.0, backoff_s=0.1,
        )
        return LiveConfig.from_settings(symbols, **(values | overrides))

    return make


def topics() -> dict[str, TopicSpec]:
    return {spec.kind: spec for spec in build_topics()}


def read_messages(kafka: dict, kind: str) -> list:
    """Every message of the topic (all partitions, from the beginning), until none arrives for a second."""
    name = topics()[kind].name
    consumer = KafkaConsumer(**kafka, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages, quiet_since = [], time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            batch = consumer.poll(timeout_ms=200)
            for records in batch.values():
                messages += records
                quiet_since = time.monotonic()
        return messages
    finally:
        consumer.close()


def read_frame(kafka: dict, kind: str) -> pl.DataFrame:
    spec = topics()[kind]
    return codec.decode(spec.record, [(m.value, m.headers) for m in read_messages(kafka, kind)])


def assert_contiguous_without_duplicates(trades: pl.DataFrame) -> None:
    assert trades.height > 0
    for symbol, group in trades.group_by("symbol"):
        ids = group["agg_id"].sort()
        assert ids.n_unique() == ids.len(), f"{symbol}: duplicated agg ids"
        assert ids[-1] - ids[0] + 1 == ids.len(), f"{symbol}: agg ids {ids[0]}..{ids[-1]} have holes"


def metric(text: str, name: str) -> float:
    """Sum of a Prometheus metric's samples (all label sets) in exposition text."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " "))
