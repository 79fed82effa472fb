"""One simulator for the exchange-client tests, over real sockets, and clients of it for each test."""

from __future__ import annotations

import pytest

from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.rest import BinanceRest

from exchange_cases import SEED, TODAY, VOLUME


@pytest.fixture(scope="session")
def sim(tmp_path_factory) -> str:
    config = SimConfig(seed=SEED, volume=VOLUME, today=TODAY, cache_dir=tmp_path_factory.mktemp("sim-cache"))
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def rest(sim):
    with BinanceRest(sim, retries=5) as client:
        yield client


@pytest.fixture
def dumps(sim, tmp_path):
    with DumpClient(sim, tmp_path / "dump-cache") as client:
        yield client
