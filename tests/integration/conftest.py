"""Fixtures for the Dagster integration tests: real resources on a real broker, simulator and temporary instance."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_runs import make_resources
from streamforge.bus.broker import LocalBroker
from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge_assets.partitions import INSTRUMENTS


@pytest.fixture(scope="session")
def sim(tmp_path_factory) -> str:
    config = SimConfig(seed=11, volume=0.01, cache_dir=tmp_path_factory.mktemp("sim-cache"))
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(INSTRUMENTS.name, ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"])
        yield inst


@pytest.fixture
def resources(broker, sim, tmp_path) -> dict:
    return make_resources(broker.bootstrap, sim, tmp_path)


@pytest.fixture
def own_broker(tmp_path):
    """A broker this test may stop and restart without disturbing the session's."""
    with LocalBroker(tmp_path / "tansu") as running:
        yield running
