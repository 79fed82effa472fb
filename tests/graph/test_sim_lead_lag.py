"""The platform finds the simulator's planted off-grid lead-lag in a graph built from its candles, and nothing in the
control market (issue 13 item 4, end to end from the simulator rather than from series generated in the test).

The default market plants ETH and BNB 330 s ± 60 s behind BTC (a new jitter every day) and SOL twice that: never a
whole number of 5-minute bars. A lag of L seconds moves the follower over the bars it straddles: ⌈L/300⌉, and the bar
before when L is not a multiple of 300. The control market has the same co-movement with every lag 0."""

from datetime import date, timedelta

import pytest

from streamforge.dates import day_bounds_us
from streamforge.graph import build_graph
from streamforge.graph.simdata import sim_window
from streamforge.sim.market import Market
from streamforge.sim.prices import LeadLag

FIRST_DAY, DAYS = date(2025, 1, 1), 3
BTC, ETH, BNB, SOL = (f"binance.spot.{s}USDT" for s in ("BTC", "ETH", "BNB", "SOL"))


def lead_lag(planted: bool):
    market = Market(7, volume=0.01, lead_lag=LeadLag(planted=planted))
    c5, c1, _ = sim_window(market, [BTC, ETH, BNB, SOL], FIRST_DAY, DAYS)
    train_end = day_bounds_us(FIRST_DAY + timedelta(days=DAYS - 1))[1]  # the whole window: lead-lag is what is tested
    pairs = build_graph(c5, c1, train_end=train_end).stats.lead_lag
    return market, {(r["leader"], r["follower"], r["lag"]) for r in pairs.iter_rows(named=True)}


def bars_straddled(lag_s: int) -> set[int]:
    return {-(-lag_s // 300), lag_s // 300} - {0}


@pytest.mark.slow
def test_the_planted_off_grid_lags_are_found_on_the_bars_they_straddle():
    market, found = lead_lag(True)
    days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
    for follower in (ETH, BNB, SOL):
        lags = {market.prices.lag_s(market.spec(follower).base_asset, day) for day in days}
        assert all(lag % 300 for lag in lags), lags  # off the grid every day
        expected = set().union(*(bars_straddled(lag) for lag in lags))
        got = {lag for leader, f, lag in found if (leader, f) == (BTC, follower)}
        assert got and got <= expected, (follower, lags, got)
    assert not any(follower == BTC for _, follower, _ in found), found  # the leader follows nobody


@pytest.mark.slow
def test_the_control_market_has_no_lead_lag_pair():
    _, found = lead_lag(False)
    assert found == set()
