from datetime import date

import numpy as np
import polars as pl
import pytest
from model_runs import PROTOCOL, QUICK, INSTRUMENTS, window

from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.graph.features import INTERVAL_US
from streamforge.models.forecaster import ModelSpec
from streamforge.models.evaluation import FORECAST_SCHEMA
from streamforge.models.leaderboard import summarise
from streamforge.models.walkforward import Protocol, evaluate_day, walk_forward

DAY = date(2025, 1, 4)
SPECS = [ModelSpec("har"), ModelSpec("harx"), ModelSpec("relational", overrides=QUICK)]


def test_each_origin_tests_on_its_day_after_an_embargoed_validation_block():
    split = PROTOCOL.split(DAY)
    start, end = day_bounds_us(DAY)
    assert (split.test_start_us, split.end_us) == (start, end)
    assert split.start_us == day_bounds_us(date(2025, 1, 2))[0]  # sliding: two days before
    assert split.val_end_us + 12 * INTERVAL_US == start and split.train_end_us + 12 * INTERVAL_US == split.val_start_us
    expanding = Protocol(2, date(2025, 1, 1), 0.15, 12, (0,))
    assert expanding.split(DAY).start_us == day_bounds_us(date(2025, 1, 1))[0]
    with pytest.raises(ConfigError, match="fewer than 2 training days"):
        expanding.split(date(2025, 1, 2))
    with pytest.raises(InsufficientDataError, match="more training days"):
        Protocol(0, None, 0.15, 12, (0,)).split(DAY)


def test_the_evaluation_day_reaches_no_fit_forecasts_depend_only_on_the_past():
    """Change the prices of the evaluation day from noon on: the forecasts of its morning stay exactly the same, and
    so does every fitted statistic — the day's data never enters a fit."""
    c5, c1, trades = window(True)
    noon = day_bounds_us(DAY)[0] + 12 * 3_600_000_000
    scrambled = []
    for frame, t in ((c5, "open_time"), (c1, "open_time"), (trades, "time")):
        factor = pl.when(pl.col(t).dt.epoch("us") >= noon).then(1.0 + 0.03 * (pl.int_range(pl.len()) % 5)).otherwise(1.0)
        cols = [c for c in ("open", "high", "low", "close", "vwap", "price", "qty", "volume") if c in frame.columns]
        scrambled.append(frame.with_columns([(pl.col(c) * factor).alias(c) for c in cols]))
    one = evaluate_day(c5, c1, trades, DAY, SPECS, PROTOCOL, INSTRUMENTS)
    two = evaluate_day(*scrambled, DAY, SPECS, PROTOCOL, INSTRUMENTS)
    assert one.lead_lag.equals(two.lead_lag)
    morning = pl.col("open_time").dt.epoch("us") < noon - INTERVAL_US  # its target interval ends by noon
    a, b = (e.forecasts.filter(morning).drop("actual_log_rv", "actual_return") for e in (one, two))
    assert a.height > 0 and a.equals(b)
    assert not one.forecasts.equals(two.forecasts)  # ...while the afternoon did change


def test_walk_forward_rolls_one_origin_per_day_with_every_seed():
    rows = walk_forward(*window(True), [date(2025, 1, 3), DAY], SPECS, PROTOCOL, INSTRUMENTS)
    assert rows.schema == pl.Schema(FORECAST_SCHEMA)
    per = rows.group_by("model", "day").agg(pl.col("seed").unique().sort())
    assert per.height == 6
    assert per.filter(pl.col("model") == "relational")["seed"].to_list() == [[0, 1], [0, 1]]
    assert per.filter(pl.col("model") == "har")["seed"].to_list() == [[0], [0]]


def _rows(model: str, kind: str, seed: int, errors: np.ndarray) -> pl.DataFrame:
    n = len(errors)
    times = pl.datetime_range(pl.datetime(2025, 1, 1, time_zone="UTC"), pl.datetime(2025, 1, 1, time_zone="UTC") + pl.duration(minutes=5 * (n - 1)), "5m", eager=True)
    actual = np.sin(np.arange(n)) - 13
    return pl.DataFrame(
        {"model": model, "forecaster": model, "kind": kind, "seed": seed, "day": date(2025, 1, 1), "instrument": "X",
         "open_time": times, "forecast_log_rv": actual + errors, "log_variance": actual + errors, "return_score": errors,
         "actual_log_rv": actual, "actual_return": np.cos(np.arange(n))},
        schema=FORECAST_SCHEMA,
    )


def test_the_leaderboard_reports_mean_and_sd_over_seeds_and_tests_against_the_best_baseline():
    rng = np.random.default_rng(3)
    n = 500
    frames = [
        _rows("weak", "baseline", 0, 1.0 * rng.standard_normal(n)),
        _rows("strong", "baseline", 0, 0.8 * rng.standard_normal(n)),
        *(_rows("gnn", "model", seed, scale * rng.standard_normal(n)) for seed, scale in ((0, 0.5), (1, 0.6), (2, 0.55))),
    ]
    summary = summarise(pl.concat(frames))
    gnn = summary.filter((pl.col("model") == "gnn") & (pl.col("instrument") == "ALL")).row(0, named=True)
    per_seed = [float(((f["forecast_log_rv"] - f["actual_log_rv"]) ** 2).mean()) for f in frames[2:]]
    assert gnn["seeds"] == 3 and gnn["mse_log_rv"] == pytest.approx(np.mean(per_seed))
    assert gnn["mse_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert gnn["reference"] == "strong" and gnn["dm_mse"] < -3 and gnn["dm_mse_p"] < 0.01
    strong = summary.filter((pl.col("model") == "strong") & (pl.col("instrument") == "ALL")).row(0, named=True)
    assert strong["dm_mse"] is None and strong["mse_sd"] == 0.0 and strong["mse_se"] > 0
    assert set(summary["instrument"]) == {"ALL", "X"}
