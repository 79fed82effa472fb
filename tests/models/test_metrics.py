import numpy as np
import pytest

from streamforge.models.metrics import (
    base_rate,
    directional_accuracy,
    information_coefficient,
    log_variance_forecast,
    qlike_losses,
)


def test_qlike_is_zero_for_a_perfect_variance_forecast_and_penalises_under_forecasting_more():
    actual = np.log(np.array([1e-6, 4e-6, 2e-7]))
    assert qlike_losses(actual, actual) == pytest.approx(np.zeros(3))
    assert qlike_losses(actual - 0.5, actual).mean() > qlike_losses(actual + 0.5, actual).mean() > 0


def test_the_variance_forecast_is_the_conditional_mean_not_the_median():
    """log RV = f + e, e ~ N(0, s^2): exp(f) is RV's median; exp(f + s^2/2) its mean, which minimises QLIKE."""
    rng = np.random.default_rng(0)
    f, s = -13.0, 1.2
    actual = f + s * rng.standard_normal(200_000)
    corrected = log_variance_forecast(np.full_like(actual, f), s * s)
    assert np.exp(corrected[0]) == pytest.approx(np.exp(actual).mean(), rel=0.02)
    assert np.exp(f) < 0.6 * np.exp(actual).mean()  # the uncorrected median is biased low by exp(-s^2/2) = 0.49
    assert qlike_losses(corrected, actual).mean() < qlike_losses(np.full_like(actual, f), actual).mean()
    for wrong in (0.5, 2.0):  # and the correction is the QLIKE-optimal constant, not just better than none
        assert qlike_losses(corrected + np.log(wrong), actual).mean() > qlike_losses(corrected, actual).mean()


def test_direction_ic_and_base_rate_are_null_not_nan_when_undefined():
    flat = np.zeros(10)
    assert directional_accuracy(np.ones(10), flat) is None and base_rate(flat) is None
    assert information_coefficient(np.ones(10), np.arange(10.0)) is None
    assert information_coefficient(np.arange(10.0), np.arange(10.0) ** 3) == pytest.approx(1.0)


def test_the_base_rate_is_what_always_guessing_the_frequent_sign_scores():
    realized = np.array([1.0, 2.0, -1.0, 0.0, 3.0])
    assert base_rate(realized) == 0.75
    assert directional_accuracy(np.ones(5), realized) == 0.75
