"""Four days of the simulated market (with and without the planted lead-lag), its split, graphs, panels and the small
training configurations shared by the model tests (module name unique across tests/ on purpose)."""

from datetime import date
from functools import cache

from streamforge.dates import day_bounds_us
from streamforge.graph import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.models.forecaster import ModelSpec
from streamforge.models.split import Split
from streamforge.models.panel import Panel
from streamforge.models.walkforward import Protocol
from streamforge.sim.market import Market

INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
FIRST_DAY = date(2025, 1, 1)
DAYS = 4
TRAINING = (("hidden", 32), ("layers", 2), ("learning_rate", 0.01), ("max_epochs", 150), ("patience", 20),
            ("return_loss_weight", 0.2))
RELATIONAL = ModelSpec("relational", overrides=TRAINING)
# A few epochs: enough to exercise every code path of a neural forecaster, cheap enough for `make test`.
QUICK = (("hidden", 8), ("max_epochs", 3), ("patience", 2))
PROTOCOL = Protocol(train_days=2, expanding_from=None, val_fraction=0.15, embargo=12, seeds=(0, 1))


@cache
def window(lead_lag: bool):
    return sim_window(Market(7, volume=0.01, lead_lag=lead_lag), INSTRUMENTS, FIRST_DAY, DAYS, with_trades=lead_lag)


@cache
def split() -> Split:
    start, _ = day_bounds_us(FIRST_DAY)
    return Split.plan(start, start + DAYS * 86_400_000_000, val_fraction=0.15, test_fraction=0.2, embargo=12)


@cache
def graph(lead_lag: bool):
    return build_graph(*window(lead_lag), train_end=split().train_end_us)


@cache
def panel(lead_lag: bool) -> Panel:
    return Panel.of(graph(lead_lag))
