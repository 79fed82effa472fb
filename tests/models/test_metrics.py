import numpy as np
import pytest

from streamforge.errors import StreamForgeError
from streamforge.models.metrics import directional_accuracy, information_coefficient, qlike, score


def test_qlike_is_zero_for_a_perfect_variance_forecast_and_positive_otherwise():
    actual = np.log(np.array([1e-6, 4e-6, 2e-7]))
    assert qlike(actual, actual) == pytest.approx(0.0)
    assert qlike(actual + 0.5, actual) > 0 and qlike(actual - 0.5, actual) > qlike(actual + 0.5, actual)


def test_direction_and_ic_are_null_not_nan_when_undefined():
    flat = np.zeros(10)
    assert directional_accuracy(np.ones(10), flat) is None
    assert information_coefficient(np.ones(10), np.arange(10.0)) is None
    assert information_coefficient(np.arange(10.0), np.arange(10.0) ** 3) == pytest.approx(1.0)


def test_a_diverged_model_is_refused_rather_than_scored():
    with pytest.raises(StreamForgeError, match="non-finite"):
        score("gnn", "test", np.array(["A", "A"]), np.array([np.nan, 1.0]), np.zeros(2), np.zeros(2), np.zeros(2))
