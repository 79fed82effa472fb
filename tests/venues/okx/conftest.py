"""One simulator for the OKX client tests, over real sockets, and clients of it for each test."""

from __future__ import annotations

import pytest

from streamforge.sim.runner import running_simulator
from streamforge.sim.server import SimConfig
from streamforge.venues.market import Endpoints
from streamforge.venues.okx.client import OkxSpot, OkxSwap
from streamforge.venues.okx.rest import OkxRest

from okx_cases import SEED, TODAY, VOLUME


@pytest.fixture(scope="session")
def sim(tmp_path_factory) -> str:
    config = SimConfig(seed=SEED, volume=VOLUME, today=TODAY, cache_dir=tmp_path_factory.mktemp("sim-cache"))
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def endpoints(sim, tmp_path) -> Endpoints:
    return Endpoints(sim, sim, sim.replace("http://", "ws://"), tmp_path / "cache")


@pytest.fixture
def rest(sim):
    with OkxRest(sim, retries=5) as client:
        yield client


@pytest.fixture
def spot(endpoints):
    client = OkxSpot(endpoints)
    yield client
    client.close()


@pytest.fixture
def swap(endpoints):
    client = OkxSwap(endpoints)
    yield client
    client.close()
