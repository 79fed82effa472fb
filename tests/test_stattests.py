import numpy as np
import pytest

from streamforge.stattests import benjamini_hochberg, diebold_mariano, hac_variance_of_mean, holm


def test_hac_variance_matches_the_iid_one_for_white_noise_and_grows_with_autocorrelation():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(20_000)
    assert hac_variance_of_mean(noise) == pytest.approx(noise.var() / len(noise), rel=0.1)
    persistent = np.convolve(noise, np.ones(5), mode="same")  # MA(4): long-run variance 5x the iid one per unit
    assert hac_variance_of_mean(persistent) > 3 * persistent.var() / len(persistent)


def test_diebold_mariano_finds_a_better_forecast_and_not_an_equal_one():
    rng = np.random.default_rng(2)
    actual = rng.standard_normal(2_000)
    good, bad = actual + 0.5 * rng.standard_normal(2_000), actual + 0.8 * rng.standard_normal(2_000)
    better = diebold_mariano((good - actual) ** 2 - (bad - actual) ** 2)
    assert better.statistic < -5 and better.p_value < 1e-6
    twin = actual + 0.5 * rng.standard_normal(2_000)
    same = diebold_mariano((good - actual) ** 2 - (twin - actual) ** 2)
    assert same.p_value > 0.01
    assert diebold_mariano(np.zeros(10)).statistic is None  # no variance, no test


def test_benjamini_hochberg_and_holm_reject_the_textbook_sets():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True] + [False] * 8
    assert benjamini_hochberg(np.array([0.01, 0.02, 0.03]), 0.05).all()  # step-up: the largest passing p decides
    assert holm(np.array([0.01, 0.04, 0.03]), 0.05).tolist() == [True, False, False]
    assert holm(np.array([0.01, 0.02, 0.024]), 0.05).all()
