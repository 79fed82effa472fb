"""Session-wide fixtures: real processes started once (broker, simulator), and an isolated STREAMFORGE_HOME.

Nothing here is a mock: the broker is Tansu speaking the Kafka protocol, the simulator serves Binance's wire formats
over real sockets, and Dagster runs on a real (temporary) instance.
"""

from __future__ import annotations

import os

import httpx
import pytest

# Settings are read from the environment when modules load, so the test home is set before any import of ours.
os.environ.setdefault("STREAMFORGE_HOME", os.path.join(os.environ.get("PYTEST_TMPDIR", "/tmp"), f"streamforge-tests-{os.getpid()}"))
os.environ["STREAMFORGE_KAFKA_TIMEOUT_S"] = "5"
os.environ["STREAMFORGE_HTTP_RETRIES"] = "3"
# Two workers on two cores, each starting processes of its own (stacks, run workers): a torch or OpenMP pool of a
# thread per core in each of them oversubscribes the cores, and their spinning threads slow every other test.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from streamforge.bus.broker import LocalBroker  # noqa: E402


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> LocalBroker:
    with LocalBroker(tmp_path_factory.mktemp("tansu")) as running:
        yield running


@pytest.fixture
def faults(sim):
    """Set faults on the `sim` simulator of the test's module or folder for one test; counters, used weight and
    bans are reset before and after, so no test inherits another's ban."""

    def set_faults(**values: object) -> None:
        httpx.post(f"{sim}/sim/faults", json=values).raise_for_status()

    httpx.post(f"{sim}/sim/reset").raise_for_status()
    yield set_faults
    set_faults()
    httpx.post(f"{sim}/sim/reset").raise_for_status()



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with end-to-end tests first, then files with slow ones: xdist hands files to its workers in this order,
    so the long ones start at once instead of leaving one worker busy alone at the end."""
    rank: dict[str, int] = {}
    for item in items:
        file = item.nodeid.split("::")[0]
        mine = 0 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("slow") else 2
        rank[file] = min(rank.get(file, 2), mine)
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
