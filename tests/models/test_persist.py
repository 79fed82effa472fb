from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from model_runs import FIRST_DAY, QUICK, INSTRUMENTS, graph, split, window

from streamforge.errors import FeatureSetMismatchError, InSampleError, InsufficientDataError
from streamforge.graph.features import FEATURES, FeatureSet
from streamforge.models.forecaster import ModelSpec
from streamforge.models.persist import load_model, save_model
from streamforge.models.predict import predict
from streamforge.models.train import train_and_evaluate

LAST_DAY = FIRST_DAY + timedelta(days=3)


def test_a_saved_model_reloads_and_scores_a_day_like_the_original(lead_lag_model, tmp_path):
    save_model(tmp_path / "m", lead_lag_model)
    loaded = load_model(tmp_path / "m")
    assert loaded.metrics.equals(lead_lag_model.metrics)
    assert loaded.stats.to_dict() == lead_lag_model.stats.to_dict()
    assert (tmp_path / "m" / "MODEL_CARD.md").read_text().startswith("# Model card: leadlag")
    c5, c1, trades = window(True)
    scored = predict(loaded, c5, c1, LAST_DAY, trades, in_sample=True)
    assert scored.height == 288 * len(INSTRUMENTS)
    assert np.isfinite(scored["forecast_log_rv"].to_numpy()).all()
    assert scored.equals(predict(lead_lag_model, c5, c1, LAST_DAY, trades, in_sample=True))


def test_a_closed_form_baseline_saves_and_reloads_too(tmp_path):
    har = train_and_evaluate(graph(True), split(), ModelSpec("harx"), seed=0, model_id="harx")
    save_model(tmp_path / "h", har)
    c5, c1, trades = window(True)
    again = predict(load_model(tmp_path / "h"), c5, c1, LAST_DAY, trades, in_sample=True)
    assert again.equals(predict(har, c5, c1, LAST_DAY, trades, in_sample=True))


def test_predict_refuses_a_day_inside_the_models_window_naming_the_block(lead_lag_model):
    c5, c1, trades = window(True)
    with pytest.raises(InSampleError, match=r"2025-01-04 lies inside model leadlag's own window \(.*test.*block\)"):
        predict(lead_lag_model, c5, c1, LAST_DAY, trades)
    with pytest.raises(InSampleError, match="train"):
        predict(lead_lag_model, c5, c1, FIRST_DAY + timedelta(days=1), trades)


def test_in_sample_scoring_labels_every_row_with_its_block(lead_lag_model):
    c5, c1, trades = window(True)
    scored = predict(lead_lag_model, c5, c1, LAST_DAY, trades, in_sample=True)
    blocks = scored.group_by("block").len()
    assert {"test", "validation", "embargo"} <= set(blocks["block"])
    test_rows = scored.filter(pl.col("block") == "test")
    assert test_rows["open_time"].dt.epoch("us").min() >= lead_lag_model.split.test_start_us


def test_a_day_after_the_window_is_out_of_sample(lead_lag_model):
    c5, c1, trades = window(True)
    shifted = [f.with_columns(pl.col(t) + pl.duration(days=4)) for f, t in ((c5, "open_time"), (c1, "open_time"), (trades, "time"))]
    later = predict(lead_lag_model, *shifted[:2], LAST_DAY + timedelta(days=1), shifted[2])
    assert set(later["block"]) == {"out_of_sample"}
    assert (later["forecast_variance"] > np.exp(later["forecast_log_rv"])).all()  # the mean exceeds the median


def test_a_model_trained_on_another_feature_set_is_refused_naming_the_difference(lead_lag_model, tmp_path, monkeypatch):
    save_model(tmp_path / "m", lead_lag_model)
    renamed = FeatureSet(FEATURES.version + 1, tuple("log_turnover" if n == "log_volume" else n for n in FEATURES.names))
    monkeypatch.setattr("streamforge.models.persist.FEATURES", renamed)
    with pytest.raises(FeatureSetMismatchError, match=r"version 2 -> 3.*no longer computed: \['log_volume'\].*log_turnover"):
        load_model(tmp_path / "m")


def test_a_model_trained_with_trades_needs_them_to_score(lead_lag_model):
    c5, c1, _ = window(True)
    with pytest.raises(InsufficientDataError, match="large_trade_share.*pass the trades"):
        predict(lead_lag_model, c5, c1, LAST_DAY, in_sample=True)


@pytest.mark.slow
def test_every_line_up_model_round_trips_through_save_and_load(tmp_path):
    from streamforge.models.lineup import LINEUP

    c5, c1, trades = window(True)
    for spec in LINEUP:
        quick = ModelSpec(spec.forecaster, spec.label, spec.overrides + (QUICK if not spec.cls.deterministic else ()))
        trained = train_and_evaluate(graph(True), split(), quick, seed=1, model_id=spec.label)
        save_model(tmp_path / spec.label, trained)
        loaded = load_model(tmp_path / spec.label)
        assert predict(loaded, c5, c1, LAST_DAY, trades, in_sample=True).equals(
            predict(trained, c5, c1, LAST_DAY, trades, in_sample=True)
        ), spec.label


def test_a_model_saved_by_an_older_version_is_refused_with_advice(lead_lag_model, tmp_path):
    import json

    save_model(tmp_path / "m", lead_lag_model)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    del manifest["spec"], manifest["stats"]["rv_floor"]
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureSetMismatchError, match="older StreamForge.*retrain it"):
        load_model(tmp_path / "m")
