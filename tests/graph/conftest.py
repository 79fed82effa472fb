import pytest
import torch
from graph_window import DAYS, FIRST_DAY, INSTRUMENTS

from streamforge.graph.simdata import sim_window
from streamforge.sim.market import Market


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def window():
    """(5m candles, 1m candles, trades) of two days of the planted lead-lag market."""
    return sim_window(Market(7, volume=0.01), INSTRUMENTS, FIRST_DAY, DAYS, with_trades=True)


@pytest.fixture(scope="session")
def control_window():
    return sim_window(Market(7, volume=0.01, lead_lag=False), INSTRUMENTS, FIRST_DAY, DAYS)
