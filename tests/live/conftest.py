"""Live-loader fixtures: one real simulator (WebSocket + REST) and the session's real broker; nothing is mocked.

Each test gets its own topic prefix, so it reads back exactly what its own loader published, and the simulator's
faults are cleared after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamforge.bus.config import kafka_config
from streamforge.instruments import resolve
from streamforge.live.loader import LiveConfig
from streamforge.venues import simulator_urls
from streamforge.sim.runner import running_simulator, sim_client
from streamforge.sim.server import SimConfig

from live_cases import SEED, SPEED, SYMBOLS, WINDOW


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
    with sim_client(sim_url) as client:
        yield client


@pytest.fixture
def kafka(broker, monkeypatch) -> dict:
    monkeypatch.setenv("STREAMFORGE_TOPIC_PREFIX", f"live-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", "2")
    return kafka_config(broker.bootstrap)


@pytest.fixture
def live_config(sim_url: str, tmp_path: Path):
    def make(names: list[str], **overrides: object) -> LiveConfig:
        """A loader config for instruments named as a user would (bare symbols are Binance spot)."""
        values = dict(
            urls=simulator_urls(sim_url), home=tmp_path, http_port=0,
            snapshot_limit=WINDOW, snapshot_spacing_s=0.05, book_interval_s=0.5, stall_s=3.0, backoff_s=0.1,
        )
        return LiveConfig.from_settings([i.id for i in resolve(names)], **(values | overrides))

    return make
