"""Forecast quality, per model and per instrument, never NaN.

- MSE on next-interval log realized variance (the primary target).
- QLIKE on variances (Patton 2011): with realized variance RV and forecast variance h = exp(forecast log RV),
  QLIKE = RV/h - log(RV/h) - 1 >= 0, zero for a perfect forecast. Unlike MSE on variances it is robust to the noise
  in RV as a proxy and penalises under-forecasting risk more than over-forecasting. exp(forecast log RV) is the
  forecast's median, not its mean; we do not bias-correct, so all models are treated alike.
- Directional accuracy: share of next-interval returns with a non-zero sign whose sign the model's return score got
  right (a zero score counts as wrong). Undefined, reported as null, when no next return is non-zero.
- Information coefficient: Spearman rank correlation of the return score with the next return. Undefined, reported
  as null, when either side is constant (e.g. a flat market) or fewer than 3 nodes are scored.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from streamforge.errors import StreamForgeError

ALL = "ALL"


def mse(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean((forecast - actual) ** 2))


def qlike(forecast_log_rv: np.ndarray, actual_log_rv: np.ndarray) -> float:
    ratio = np.exp(actual_log_rv - forecast_log_rv)  # RV / h, computed in logs so it cannot overflow early
    return float(np.mean(ratio - (actual_log_rv - forecast_log_rv) - 1.0))


def directional_accuracy(score: np.ndarray, realized: np.ndarray) -> float | None:
    moved = realized != 0
    if not moved.any():
        return None
    return float(np.mean(np.sign(score[moved]) == np.sign(realized[moved])))


def information_coefficient(score: np.ndarray, realized: np.ndarray) -> float | None:
    if len(score) < 3:
        return None
    a = pl.Series(score).rank("average").to_numpy()
    b = pl.Series(realized).rank("average").to_numpy()
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def score(
    model: str,
    block: str,
    instruments: np.ndarray,
    forecast_log_rv: np.ndarray,
    return_score: np.ndarray,
    actual_log_rv: np.ndarray,
    actual_return: np.ndarray,
) -> list[dict]:
    """Metric rows (MODEL_METRICS columns without model_id and window_end) for each instrument and for ALL pooled."""
    if not (np.isfinite(forecast_log_rv).all() and np.isfinite(return_score).all()):
        raise StreamForgeError(f"model {model} produced non-finite forecasts on the {block} block; it diverged")
    rows = []
    for instrument in [*sorted(set(instruments.tolist())), ALL]:
        m = np.ones(len(instruments), bool) if instrument == ALL else instruments == instrument
        rows.append(
            {
                "model": model,
                "instrument": instrument,
                "block": block,
                "n": int(m.sum()),
                "mse_log_rv": mse(forecast_log_rv[m], actual_log_rv[m]),
                "qlike": qlike(forecast_log_rv[m], actual_log_rv[m]),
                "directional_accuracy": directional_accuracy(return_score[m], actual_return[m]),
                "information_coefficient": information_coefficient(return_score[m], actual_return[m]),
            }
        )
    return rows


def gnn_gain(metrics: pl.DataFrame, block: str = "test") -> pl.DataFrame:
    """Per instrument: the GNN's MSE on log RV, the best of the HAR and MLP baselines, and gain = 1 - gnn / best
    (positive: the GNN is better). The graph earns its keep only where the gain is clearly above zero."""
    wide = metrics.filter(pl.col("block") == block).pivot("model", index="instrument", values="mse_log_rv")
    best = pl.min_horizontal("har", "mlp")
    return wide.select("instrument", pl.col("gnn"), best.alias("best_baseline"), (1 - pl.col("gnn") / best).alias("gain"))
