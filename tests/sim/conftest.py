"""Shared fixtures: one low-volume market and simulators started once per session on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from streamforge.sim.market import Market
from streamforge.sim.runner import running_simulator, sim_client
from streamforge.sim.server import SimConfig

from sim_cases import SEED, TODAY, VOLUME


@pytest.fixture(scope="session")
def market() -> Market:
    return Market(SEED, VOLUME)


@pytest.fixture(scope="session")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = SimConfig(seed=SEED, volume=VOLUME, cache_dir=tmp_path_factory.mktemp("sim-cache"), today=TODAY)
    with running_simulator(config) as url:
        yield url


@pytest.fixture
def api(sim_url: str) -> Iterator[httpx.Client]:
    """A client of the shared simulator, with its weight, bans, counters and faults cleared after each test."""
    with sim_client(sim_url) as client:
        yield client
