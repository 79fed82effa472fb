"""Perpetuals are nodes of the market graph beside spot instruments, and the lead of a perpetual over its spot
instrument, when the simulator plants one, becomes a perp→spot lead-lag edge (and none appears without it)."""

import polars as pl
import pytest
from graph_window import DAYS, FIRST_DAY, TRAIN_END_US

from streamforge.graph.builder import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.sim.derived import PriceModels
from streamforge.sim.market import Market

INSTRUMENTS = ["binance.spot.BTCUSDT", "binance.usdm.BTCUSDT"]


def lead_lag(perp: str) -> pl.DataFrame:
    market = Market(7, volume=0.01, lead_lag=False, models=PriceModels.parse(perp=perp))
    return build_graph(*sim_window(market, INSTRUMENTS, FIRST_DAY, DAYS), train_end=TRAIN_END_US)


@pytest.mark.parametrize("lead_ms", [330_000])
def test_a_planted_perp_lead_is_a_perp_to_spot_edge(lead_ms):
    bundle = lead_lag(f"lead_ms={lead_ms}")
    assert set(bundle.nodes["instrument"].unique()) == set(INSTRUMENTS)
    pairs = {(r["leader"], r["follower"], r["lag"]) for r in bundle.stats.lead_lag.iter_rows(named=True)}
    assert ("binance.usdm.BTCUSDT", "binance.spot.BTCUSDT", 1) in pairs
    assert not any(follower == "binance.usdm.BTCUSDT" for _, follower, _ in pairs)
    edges = bundle.edges.filter(pl.col("edge_type") == "cross_asset")
    assert edges.height > 0


def test_without_a_lead_no_perp_to_spot_edge_is_found():
    bundle = lead_lag("lead_ms=0")
    assert bundle.stats.lead_lag.filter(pl.col("leader") == "binance.usdm.BTCUSDT").is_empty()
