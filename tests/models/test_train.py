import dataclasses

import polars as pl
import pytest
from model_runs import CONFIG, graph, split

from streamforge.errors import ConfigError
from streamforge.models import train_and_evaluate
from streamforge.models.metrics import gnn_gain
from streamforge.schemas import MODEL_METRICS

LAGGING = ["binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]


def test_with_planted_lead_lag_the_gnn_beats_mlp_and_har_on_the_lagging_symbols(lead_lag_model):
    gain = gnn_gain(lead_lag_model.metrics).filter(pl.col("instrument").is_in(LAGGING))
    assert (gain["gain"] > 0.25).all(), gain  # a clear margin: over a quarter of the best baseline's MSE


def test_without_lead_lag_the_gain_shrinks_to_noise(control_model):
    gain = gnn_gain(control_model.metrics).filter(pl.col("instrument").is_in(LAGGING))
    assert (gain["gain"].abs() < 0.1).all(), gain


def test_metrics_cover_every_model_and_symbol_and_are_finite(lead_lag_model):
    m = MODEL_METRICS.conform(lead_lag_model.metrics)
    assert set(m["model"]) == {"gnn", "mlp", "har", "persistence"}
    assert set(m["instrument"]) == {"binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT", "ALL"}
    numbers = m.select("mse_log_rv", "qlike", "directional_accuracy", "information_coefficient")
    assert numbers.select(pl.all().is_nan().any()).row(0) == (False,) * 4


def test_same_seed_same_metrics(lead_lag_model):
    again = train_and_evaluate(graph(True), split(), CONFIG, model_id="leadlag")
    assert again.metrics.equals(lead_lag_model.metrics)


def test_early_stopping_keeps_the_best_validation_epoch(lead_lag_model):
    for report in lead_lag_model.fit_reports.values():
        assert report.best_epoch <= report.epochs <= CONFIG.max_epochs
        assert report.epochs == CONFIG.max_epochs or report.epochs - report.best_epoch == CONFIG.patience


def test_a_split_that_trains_past_the_graphs_statistics_is_refused():
    later = dataclasses.replace(split(), train_end_us=split().train_end_us + 3_600_000_000)
    with pytest.raises(ConfigError, match="train_end"):
        train_and_evaluate(graph(True), later, CONFIG)
