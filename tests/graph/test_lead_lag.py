"""Lead-lag found honestly: HAC t-statistics and a multiple-testing correction over every (leader, follower, lag).

The series are generated here at one-second resolution and summed into 5-minute returns, so the planted lags can sit
off the 5-minute grid (150 s, 420 s) and the volatility can cluster — common to every instrument, the case where an
i.i.d. test (|rho| * sqrt(n)) overstates the evidence. The control instrument moves with the leader at the same
second: correlated, but it leads nothing and follows nothing."""

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from streamforge.errors import ConfigError
from streamforge.graph.edges import estimate_lead_lag

BAR_S = 300
DAYS = 3
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _market(seed: int, lags: dict[str, int]) -> pl.DataFrame:
    """5-minute log returns of a leader and followers `lags` seconds behind it (beta 1, idiosyncratic noise as large as the
    leader's volatility), under a shared slowly varying volatility."""
    rng = np.random.default_rng(seed)
    seconds = DAYS * 86_400
    log_vol = np.convolve(rng.standard_normal(seconds + 4000), np.ones(4000) / np.sqrt(4000), mode="valid")[:seconds]
    sigma = 1e-4 * np.exp(0.45 * log_vol)
    pad = max(lags.values()) + 1
    leader = np.concatenate([sigma[0] * rng.standard_normal(pad), sigma * rng.standard_normal(seconds)])
    series = {"LEAD": leader[pad:]}
    for name, lag in lags.items():
        series[name] = leader[pad - lag : pad - lag + seconds] + sigma * rng.standard_normal(seconds)
    bars = seconds // BAR_S
    times = [START.timestamp() + i * BAR_S for i in range(bars)]
    return pl.concat(
        pl.DataFrame(
            {"instrument": name, "open_time": [datetime.fromtimestamp(t, timezone.utc) for t in times],
             "log_return": r.reshape(bars, BAR_S).sum(axis=1)}
        )
        for name, r in series.items()
    ).with_columns(pl.col("open_time").dt.cast_time_unit("us"))


def _pairs(found: pl.DataFrame) -> set[tuple[str, str, int]]:
    return {(r["leader"], r["follower"], r["lag"]) for r in found.iter_rows(named=True)}


END_US = int(datetime(2025, 1, 4, tzinfo=timezone.utc).timestamp() * 1_000_000)


@pytest.mark.parametrize("correction", ["bh", "holm"])
def test_off_grid_lags_are_found_on_the_bars_they_straddle_and_the_control_leads_nothing(correction):
    market = _market(0, {"F150": 150, "F420": 420, "CTRL": 0})
    found = _pairs(estimate_lead_lag(market, END_US, max_lag=3, level=0.01, correction=correction))
    # 150 s: half of the leader's move lands one bar later. 420 s: 180 s of it one bar later, 120 s two bars later.
    assert {("LEAD", "F150", 1), ("LEAD", "F420", 1), ("LEAD", "F420", 2)} <= found
    assert not any(follower == "CTRL" for _, follower, _ in found)
    assert not any(follower == "LEAD" for _, follower, _ in found)


def test_a_market_without_lead_lag_yields_no_pair_under_clustered_volatility():
    for seed in range(3):
        control = _market(seed + 10, {"A": 0, "B": 0, "C": 0})
        assert estimate_lead_lag(control, END_US, max_lag=3, level=0.01, correction="bh").is_empty(), seed


def test_the_hac_statistic_is_smaller_than_the_iid_one_when_volatility_co_moves():
    found = estimate_lead_lag(_market(0, {"F150": 150}), END_US, max_lag=1, level=0.01, correction="bh").row(0, named=True)
    assert abs(found["z"]) < abs(found["rho"]) * np.sqrt(found["n"])  # the i.i.d. z would overstate the evidence
    assert found["p_value"] < 1e-6


def test_only_training_data_is_used_and_an_unknown_correction_is_named():
    market = _market(0, {"F150": 150})
    half = END_US - 36 * 3_600_000_000
    later = market.with_columns(
        pl.when(pl.col("open_time").dt.epoch("us") >= half).then(pl.col("log_return") * -3).otherwise(pl.col("log_return"))
    )
    a, b = (estimate_lead_lag(m, half, max_lag=2, level=0.01, correction="bh") for m in (market, later))
    assert a.equals(b)
    with pytest.raises(ConfigError, match="'bonferoni' is unknown"):
        estimate_lead_lag(market, half, max_lag=2, level=0.01, correction="bonferoni")
