import dataclasses

import polars as pl
import pytest
from model_runs import RELATIONAL, graph, split

from streamforge.errors import StreamForgeError
from streamforge.models.train import train_and_evaluate
from streamforge.models.leaderboard import LEADERBOARD_SCHEMA

LAGGING = ["binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]


def _mse(metrics: pl.DataFrame, model: str) -> dict[str, float]:
    return dict(metrics.filter(pl.col("model") == model).select("instrument", "mse_log_rv").iter_rows())


def test_with_planted_lead_lag_the_gnn_beats_the_baselines_without_cross_asset_information(lead_lag_model):
    gnn, har, mlp = (_mse(lead_lag_model.metrics, m) for m in ("relational", "har", "mlp"))
    for instrument in LAGGING:  # a clear margin: over a quarter of the better edge-free baseline's MSE
        assert gnn[instrument] < 0.75 * min(har[instrument], mlp[instrument]), (instrument, gnn, har, mlp)
    dm = lead_lag_model.metrics.filter((pl.col("model") == "relational") & (pl.col("instrument") == "binance.spot.ETHUSDT"))
    assert dm["reference"][0] in {"persistence", "har", "harx", "mlp"} and dm["dm_mse_p"][0] is not None


def test_without_lead_lag_the_gain_over_the_mlp_shrinks_to_noise(control_model):
    gnn, mlp = (_mse(control_model.metrics, m) for m in ("relational", "mlp"))
    for instrument in LAGGING:
        assert abs(1 - gnn[instrument] / mlp[instrument]) < 0.15, (instrument, gnn, mlp)


def test_metrics_cover_the_model_every_baseline_and_instrument_with_uncertainty(lead_lag_model):
    m = lead_lag_model.metrics
    assert m.schema == pl.Schema(LEADERBOARD_SCHEMA)
    assert set(m["model"]) == {"relational", "persistence", "har", "harx", "mlp"}
    assert set(m["instrument"]) == {"binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT", "ALL"}
    numbers = m.select("mse_log_rv", "mse_se", "qlike", "qlike_se", "base_rate")
    assert numbers.null_count().row(0) == (0,) * 5
    assert numbers.select(pl.all().is_nan().any()).row(0) == (False,) * 5
    reference = m["reference"][0]
    others = m.filter(pl.col("model") != reference)
    assert others["dm_mse"].null_count() == 0 and others["dm_qlike_p"].null_count() == 0


def test_the_model_card_names_window_instruments_features_seed_and_code_version(lead_lag_model):
    card = lead_lag_model.card
    assert card["model"]["label"] == "relational" and card["seed"] == 0
    assert card["instruments"] == ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]
    assert "log_rv" in card["features"]["names"] and card["features"]["version"] >= 2
    assert card["data_window"]["train_end"] < card["data_window"]["validation"][0] < card["data_window"]["test"][0]
    assert card["code_version"] and card["test_metrics"]


def test_same_seed_same_metrics(lead_lag_model):
    again = train_and_evaluate(graph(True), split(), RELATIONAL, seed=0, model_id="leadlag")
    assert again.metrics.equals(lead_lag_model.metrics)


def test_early_stopping_keeps_the_best_validation_epoch(lead_lag_model):
    report, config = lead_lag_model.fit_report, RELATIONAL.config()
    assert report.best_epoch <= report.epochs <= config.max_epochs
    assert report.epochs == config.max_epochs or report.epochs - report.best_epoch == config.patience


def test_a_split_that_trains_past_the_graphs_statistics_is_refused():
    later = dataclasses.replace(split(), train_end_us=split().train_end_us + 3_600_000_000)
    with pytest.raises(StreamForgeError, match="train_end"):
        train_and_evaluate(graph(True), later, RELATIONAL, seed=0)
