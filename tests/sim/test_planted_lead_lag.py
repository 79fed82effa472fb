"""The planted lead-lag: followers trail their leader by a lag off the 5-minute grid that moves from day to day, the
control market has the same co-movement without a lead, and both are configurable."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from streamforge.errors import ConfigError
from streamforge.sim.calendar import US_PER_DAY, US_PER_S, day_start_us
from streamforge.sim.market import Market
from streamforge.sim.prices import LeadLag

from sim_cases import DAY, SEED, VOLUME, peak_lag

HOURS = 8


def second_returns(market: Market, key: str, day: date, hours: int = HOURS) -> np.ndarray:
    """1-second log returns of the mid price over the day's first hours."""
    times = day_start_us(day) + np.arange(hours * 3_600 + 1, dtype=np.int64) * US_PER_S
    return np.diff(np.log(market.mid_prices(key, times)))


def five_minute_returns(market: Market, symbol: str, first: date, n_days: int) -> np.ndarray:
    start = day_start_us(first)
    closes = market.klines(symbol, "5m", start, start + n_days * US_PER_DAY)["close"].to_numpy()
    return np.diff(np.log(closes))


def lagged_corr(follower: np.ndarray, leader: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(follower[lag:], leader[: len(leader) - lag])[0, 1])


@pytest.fixture(scope="module")
def btc(market) -> np.ndarray:
    return second_returns(market, "BTCUSDT", DAY)


@pytest.mark.parametrize(("symbol", "asset", "tier"), [("ETHUSDT", "ETH", 1), ("BNBUSDT", "BNB", 1), ("SOLUSDT", "SOL", 2)])
def test_followers_trail_btc_by_the_days_lag_off_the_five_minute_grid(market, btc, symbol, asset, tier):
    lag = market.prices.lag_s(asset, DAY)
    default = LeadLag()
    assert abs(lag - tier * default.lag_s) <= default.jitter_s
    assert peak_lag(second_returns(market, symbol, DAY), btc, 1_000) == lag
    lags = {market.prices.lag_s(asset, DAY + timedelta(days=d)) for d in range(10)}
    assert len(lags) > 5 and any(lag % 300 for lag in lags), "jittered per day, off the 5-minute grid"


def test_lags_and_jitter_are_configurable():
    on_grid = Market(SEED, VOLUME, LeadLag(lag_s=120, jitter_s=0))
    btc = second_returns(on_grid, "BTCUSDT", DAY, hours=2)
    assert peak_lag(second_returns(on_grid, "ETHUSDT", DAY, hours=2), btc, 600) == 120
    assert peak_lag(second_returns(on_grid, "SOLUSDT", DAY, hours=2), btc, 600) == 240
    for lag_s, jitter_s in ((100, 101), (50_000, 0), (-5, 0)):
        with pytest.raises(ConfigError, match="lead-lag"):
            LeadLag(lag_s=lag_s, jitter_s=jitter_s)


def test_control_market_moves_together_without_a_lead():
    control = Market(SEED, VOLUME, lead_lag=False)
    btc, eth = (second_returns(control, s, DAY, hours=2) for s in ("BTCUSDT", "ETHUSDT"))
    assert peak_lag(eth, btc, 1_000) == 0 and lagged_corr(eth, btc, 0) > 0.8
    btc5, eth5 = (five_minute_returns(control, s, DAY, 2) for s in ("BTCUSDT", "ETHUSDT"))
    assert lagged_corr(eth5, btc5, 0) > 0.6 and abs(lagged_corr(eth5, btc5, 1)) < 0.25


def test_at_five_minutes_the_lead_spreads_over_the_bars_the_lag_straddles(market):
    returns = {s: five_minute_returns(market, s, DAY, 2) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")}
    btc = returns["BTCUSDT"]
    assert lagged_corr(returns["ETHUSDT"], btc, 1) > 0.4 and lagged_corr(returns["ETHUSDT"], btc, 1) > lagged_corr(returns["ETHUSDT"], btc, 0)
    assert lagged_corr(returns["SOLUSDT"], btc, 2) > 0.4 and abs(lagged_corr(returns["SOLUSDT"], btc, 0)) < 0.25
    assert max(abs(lagged_corr(returns["XRPUSDT"], btc, lag)) for lag in (0, 1, 2, 3)) < 0.2


def test_volatility_clusters_and_followers_inherit_the_leaders_lagged_volatility(market):
    btc, eth = (np.abs(five_minute_returns(market, s, DAY, 3)) for s in ("BTCUSDT", "ETHUSDT"))
    assert lagged_corr(btc, btc, 1) > 0.05
    assert lagged_corr(eth, btc, 1) > lagged_corr(eth, btc, 0) + 0.1
