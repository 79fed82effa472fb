"""Four days of the simulated market (with and without the planted lead-lag), its split, graphs and the training
configuration shared by the model tests (module name unique across tests/ on purpose)."""

from datetime import date
from functools import cache

from streamforge.graph import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.models import Split, TrainConfig
from streamforge.sim.market import Market
from streamforge.dates import day_bounds_us

SYMBOLS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
FIRST_DAY = date(2025, 1, 1)
DAYS = 4
CONFIG = TrainConfig(
    seed=0, hidden=32, layers=2, learning_rate=0.01, max_epochs=150, patience=20, return_loss_weight=0.2
)


@cache
def window(lead_lag: bool):
    return sim_window(Market(7, volume=0.01, lead_lag=lead_lag), SYMBOLS, FIRST_DAY, DAYS, with_trades=lead_lag)


@cache
def split() -> Split:
    start, _ = day_bounds_us(FIRST_DAY)
    return Split.plan(start, start + DAYS * 86_400_000_000, val_fraction=0.15, test_fraction=0.2, embargo=12)


@cache
def graph(lead_lag: bool):
    return build_graph(*window(lead_lag), train_end=split().train_end_us)
