"""The statistics every claim of the research platform rests on: the HAC variance of a mean, the Diebold–Mariano
test, and the multiple-testing corrections.

Why HAC: five-minute returns and forecast losses are not independent. Volatility clusters, so products of returns
(lead-lag) and loss differentials (model comparison) are heteroskedastic and autocorrelated; an i.i.d. standard
error (|rho| * sqrt(n)) is too small and lets weak effects through. Newey–West with the Bartlett kernel and the
usual bandwidth floor(4 (n/100)^(2/9)) corrects both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import stdtr


def newey_west_lags(n: int) -> int:
    return int(np.floor(4.0 * (max(n, 1) / 100.0) ** (2.0 / 9.0)))


def hac_variance_of_mean(x: np.ndarray, valid: np.ndarray | None = None, lags: int | None = None) -> np.ndarray:
    """Newey–West variance of the mean of each column of `x` (time along axis 0); `valid` marks observed entries
    (missing ones count as zero deviation and are left out of n). One column or many, same code."""
    x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 1
    x = x.reshape(len(x), -1)
    valid = np.ones_like(x, dtype=bool) if valid is None else np.asarray(valid, bool).reshape(x.shape)
    n = np.maximum(valid.sum(axis=0), 1)
    mean = np.where(valid, x, 0.0).sum(axis=0) / n
    d = np.where(valid, x - mean, 0.0)
    lags = newey_west_lags(int(n.max())) if lags is None else lags
    long_run = (d * d).sum(axis=0) / n
    for k in range(1, min(lags, len(x) - 1) + 1):
        long_run += 2.0 * (1.0 - k / (lags + 1.0)) * (d[k:] * d[:-k]).sum(axis=0) / n
    variance = np.maximum(long_run, 0.0) / n
    return variance[0] if squeeze else variance


@dataclass(frozen=True)
class DieboldMariano:
    """DM test of equal predictive accuracy on a loss differential d = loss(model) - loss(reference): negative
    statistic = the model's loss is lower. Harvey–Leybourne–Newbold's small-sample form for a one-step forecast:
    the statistic is scaled by sqrt((n-1)/n) and compared with Student's t with n-1 degrees of freedom."""

    mean_difference: float
    statistic: float | None
    p_value: float | None
    n: int


def diebold_mariano(loss_difference: np.ndarray) -> DieboldMariano:
    d = np.asarray(loss_difference, dtype=np.float64)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 3:
        return DieboldMariano(float(d.mean()) if n else 0.0, None, None, n)
    variance = float(hac_variance_of_mean(d))
    if variance <= 0:
        return DieboldMariano(float(d.mean()), None, None, n)
    statistic = float(d.mean() / np.sqrt(variance) * np.sqrt((n - 1) / n))
    return DieboldMariano(float(d.mean()), statistic, float(2 * stdtr(n - 1, -abs(statistic))), n)


def benjamini_hochberg(p_values: np.ndarray, q: float) -> np.ndarray:
    """Which hypotheses are rejected with the false discovery rate controlled at `q` (valid under the positive
    dependence of lead-lag tests that share a leader or a follower)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return np.zeros(0, bool)
    order = np.argsort(p)
    below = p[order] <= q * np.arange(1, m + 1) / m
    k = int(np.nonzero(below)[0].max()) + 1 if below.any() else 0
    rejected = np.zeros(m, bool)
    rejected[order[:k]] = True
    return rejected


def holm(p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Which hypotheses are rejected with the family-wise error rate controlled at `alpha` (any dependence)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p)
    ok = p[order] <= alpha / (m - np.arange(m))
    k = m if ok.all() else int(np.argmin(ok))
    rejected = np.zeros(m, bool)
    rejected[order[:k]] = True
    return rejected
