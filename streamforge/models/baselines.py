"""The baselines a GNN must beat to be worth its edges.

- Persistence: next log RV = current log RV; next return sign = current return sign (momentum).
- HAR-RV (Corsi 2009): per instrument, ordinary least squares of next log RV on the mean log RV over the last 1, 6
  (30 min) and 48 (4 h) intervals, fitted on the training block. Its return score is the same regression on
  returns averaged over the same horizons, so every model is scored on both targets.
(The third baseline, an MLP on the node features without edges, is `ForecastNet` with no edge types: see gnn.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

HAR_HORIZONS = (1, 6, 48)


@dataclass(frozen=True)
class Forecast:
    log_rv: np.ndarray  # per node, in node_id order
    return_score: np.ndarray


def persistence(nodes: pl.DataFrame) -> Forecast:
    return Forecast(nodes["log_rv"].to_numpy(), nodes["log_return"].to_numpy())


def har_regressors(nodes: pl.DataFrame, column: str) -> np.ndarray:
    """Intercept and the mean of `column` over the last h intervals of the node's instrument (by time, so gaps shorten
    the average rather than reach further back), for h in HAR_HORIZONS; rows in node_id order."""
    means = [
        pl.col(column).rolling_mean_by("open_time", window_size=f"{5 * h}m").over("instrument").alias(f"h{h}")
        for h in HAR_HORIZONS
    ]
    x = nodes.sort("open_time").with_columns(means).sort("node_id").select(f"h{h}" for h in HAR_HORIZONS).to_numpy()
    return np.column_stack([np.ones(len(x)), x])


@dataclass(frozen=True)
class Har:
    coefficients: dict[str, dict[str, list[float]]]  # instrument -> target column -> coefficients

    @classmethod
    def fit(cls, nodes: pl.DataFrame, train: np.ndarray) -> Har:
        coefficients: dict[str, dict[str, list[float]]] = {}
        instruments = nodes["instrument"].to_numpy()
        for column, target in (("log_rv", "target_log_rv"), ("log_return", "target_return")):
            x, y = har_regressors(nodes, column), nodes[target].fill_null(np.nan).to_numpy()
            for instrument in np.unique(instruments[train]):
                m = train & (instruments == instrument) & np.isfinite(y)
                beta, *_ = np.linalg.lstsq(x[m], y[m], rcond=None)
                coefficients.setdefault(instrument, {})[column] = beta.tolist()
        return cls(coefficients)

    def predict(self, nodes: pl.DataFrame) -> Forecast:
        instruments = nodes["instrument"].to_list()
        out = []
        for column in ("log_rv", "log_return"):
            beta = np.array([self.coefficients[s][column] for s in instruments])
            out.append((har_regressors(nodes, column) * beta).sum(axis=1))
        return Forecast(*out)
