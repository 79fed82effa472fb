"""Forecast quality, never NaN, and the variance forecast that QLIKE scores.

- MSE on next-interval log realized variance (the primary target; every model is trained for it).
- QLIKE on variances (Patton 2011): QLIKE = RV/h - log(RV/h) - 1 >= 0, zero for a perfect forecast, robust to the
  noise in RV as a proxy; its expectation is minimised by h = E[RV | information], the conditional MEAN of the
  variance. A model of log RV forecasts E[log RV]; exp of that is the median of RV, not its mean, and is biased low
  by a factor that grows with the model's error. The correction (`log_variance_forecast`): with log RV = f + e,
  e ~ N(0, s^2), E[RV] = exp(f + s^2 / 2), s^2 being the model's own mean squared log-RV error on the validation
  block, per instrument (estimated before the test block, so no look-ahead; every model gets its own s^2).
- Directional accuracy: share of non-zero next returns whose sign the return score got right (a zero score counts
  as wrong), reported beside its base rate — the accuracy of always guessing the more frequent sign of the same
  block, which any useful direction forecast must beat. Null when no next return is non-zero.
- Information coefficient: Spearman rank correlation of the return score with the next return; null when either
  side is constant or fewer than 3 nodes are scored.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ALL = "ALL"


def log_variance_forecast(forecast_log_rv: np.ndarray, residual_variance: np.ndarray | float) -> np.ndarray:
    """log E[RV] under a log-normal error: f + s^2 / 2 (kept in logs: exp happens inside the loss)."""
    return forecast_log_rv + 0.5 * np.asarray(residual_variance)


def squared_errors(forecast_log_rv: np.ndarray, actual_log_rv: np.ndarray) -> np.ndarray:
    return (forecast_log_rv - actual_log_rv) ** 2


def qlike_losses(log_variance_forecast: np.ndarray, actual_log_rv: np.ndarray) -> np.ndarray:
    """Per-node QLIKE of the variance forecast exp(`log_variance_forecast`), in logs so it cannot overflow early."""
    log_ratio = actual_log_rv - log_variance_forecast
    return np.exp(log_ratio) - log_ratio - 1.0


def directional_accuracy(score: np.ndarray, realized: np.ndarray) -> float | None:
    moved = realized != 0
    if not moved.any():
        return None
    return float(np.mean(np.sign(score[moved]) == np.sign(realized[moved])))


def base_rate(realized: np.ndarray) -> float | None:
    """Accuracy of always forecasting the more frequent sign among the non-zero returns."""
    moved = realized[realized != 0]
    if not len(moved):
        return None
    up = float(np.mean(moved > 0))
    return max(up, 1.0 - up)


def information_coefficient(score: np.ndarray, realized: np.ndarray) -> float | None:
    if len(score) < 3:
        return None
    a = pl.Series(score).rank("average").to_numpy()
    b = pl.Series(realized).rank("average").to_numpy()
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def residual_variance(forecast_log_rv: np.ndarray, actual_log_rv: np.ndarray, instruments: np.ndarray) -> dict[str, float]:
    """Per instrument, the mean squared log-RV error: the s^2 of the variance correction."""
    return {
        s: float(np.mean(squared_errors(forecast_log_rv[instruments == s], actual_log_rv[instruments == s])))
        for s in np.unique(instruments)
    }
