from datetime import timedelta

import numpy as np
import pytest
from model_runs import FIRST_DAY, SYMBOLS, window

from streamforge.errors import FeatureSetMismatchError, InsufficientDataError
from streamforge.graph.features import FEATURES, FeatureSet
from streamforge.models import load_model, predict, save_model


def test_a_saved_model_reloads_and_scores_a_day_like_the_original(lead_lag_model, tmp_path):
    save_model(tmp_path / "m", lead_lag_model)
    loaded = load_model(tmp_path / "m")
    assert loaded.metrics.equals(lead_lag_model.metrics)
    assert loaded.stats.to_dict() == lead_lag_model.stats.to_dict()
    c5, c1, trades = window(True)
    day = FIRST_DAY + timedelta(days=3)
    scored = predict(loaded, c5, c1, day, trades)
    assert scored.height == 288 * len(SYMBOLS)
    assert np.isfinite(scored["forecast_log_rv"].to_numpy()).all()
    assert scored.equals(predict(lead_lag_model, c5, c1, day, trades))


def test_a_model_trained_on_another_feature_set_is_refused_naming_the_difference(lead_lag_model, tmp_path, monkeypatch):
    save_model(tmp_path / "m", lead_lag_model)
    renamed = FeatureSet(FEATURES.version + 1, tuple("log_turnover" if n == "log_volume" else n for n in FEATURES.names))
    monkeypatch.setattr("streamforge.models.persist.FEATURES", renamed)
    with pytest.raises(FeatureSetMismatchError, match=r"version 1 -> 2.*no longer computed: \['log_volume'\].*log_turnover"):
        load_model(tmp_path / "m")


def test_a_model_trained_with_trades_needs_them_to_score(lead_lag_model):
    c5, c1, _ = window(True)
    with pytest.raises(InsufficientDataError, match="large_trade_share.*pass the trades"):
        predict(lead_lag_model, c5, c1, FIRST_DAY + timedelta(days=3))
