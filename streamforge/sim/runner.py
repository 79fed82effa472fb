"""Run the simulator in a background thread for tests and benchmarks: `with running_simulator(config) as url:`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from streamforge.net import serving_in_thread
from streamforge.sim.server import SimConfig, create_app, uvicorn_options


@contextmanager
def running_simulator(config: SimConfig | None = None) -> Iterator[str]:
    """Yield the base URL (http://127.0.0.1:<port>) of a simulator serving `config` (default: from settings)."""
    config = config or SimConfig.from_settings()
    with serving_in_thread(create_app(config), "simulator", lifespan="off", **uvicorn_options(config)) as url:
        yield url


@contextmanager
def sim_client(url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the simulator at `url`; its faults, counters, used weight and bans are cleared when the
    client is done, so whoever uses that simulator next starts clean."""
    with httpx.Client(base_url=url, timeout=30) as client:
        try:
            yield client
        finally:
            client.post("/sim/faults", json={})
            client.post("/sim/reset")
