"""`har`: HAR-RV (Corsi 2009) with 5-minute, 30-minute, 4-hour and 1-day components and time of day.

Per instrument, ordinary least squares of the next log RV on an intercept, the mean log RV over the last 1, 6, 48
and 288 intervals and the time of day (sine and cosine), refitted on the training block of every window it is
evaluated on. Its return score is the same regression of the next return on the mean returns over the same
horizons, so every model is scored on both targets. `Har.regressors` is what HAR-X extends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from streamforge.errors import InsufficientDataError
from streamforge.models.forecaster import BASELINE, FitReport, Forecast, Forecaster, register
from streamforge.models.panel import Panel

TARGETS = (("log_rv", "target_log_rv"), ("log_return", "target_return"))


@dataclass(frozen=True)
class HarConfig:
    pass


@register("har")
class Har(Forecaster):
    Config = HarConfig
    kind = BASELINE
    deterministic = True

    def regressors(self, panel: Panel, column: str) -> np.ndarray:
        if column == "log_rv":
            return np.column_stack([np.ones(panel.num_nodes), panel.har_log_rv, panel.time_of_day])
        return np.column_stack([np.ones(panel.num_nodes), panel.har_return])

    def fit(self, panel: Panel, blocks: dict[str, np.ndarray]) -> FitReport:
        start = time.perf_counter()
        self.coefficients: dict[str, dict[str, list[float]]] = {}
        instruments = panel.instruments
        for column, target in TARGETS:
            x, y = self.regressors(panel, column), panel.nodes[target].fill_null(np.nan).to_numpy()
            for instrument in np.unique(instruments[blocks["train"]]):
                rows = blocks["train"] & (instruments == instrument) & np.isfinite(y) & np.isfinite(x).all(axis=1)
                if rows.sum() < x.shape[1]:
                    raise InsufficientDataError(
                        f"{self.name}: {instrument} has {rows.sum()} training rows for {x.shape[1]} coefficients"
                    )
                beta, *_ = np.linalg.lstsq(x[rows], y[rows], rcond=None)
                self.coefficients.setdefault(instrument, {})[column] = beta.tolist()
        return FitReport(0, 0, None, time.perf_counter() - start)

    def forecast(self, panel: Panel, nodes: np.ndarray) -> Forecast:
        instruments = panel.instruments[nodes]
        out = []
        for column, _ in TARGETS:
            beta = np.array([self.coefficients[s][column] for s in instruments]).reshape(len(nodes), -1)
            out.append((np.nan_to_num(self.regressors(panel, column)[nodes]) * beta).sum(axis=1))
        return Forecast(*out)

    def state_dict(self) -> dict:
        return {"coefficients": self.coefficients}

    def load_state_dict(self, state: dict) -> None:
        self.coefficients = state["coefficients"]
