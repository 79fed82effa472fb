"""`persistence`: next log RV = this interval's log RV; next return score = this interval's return (momentum).
The forecast every model must beat before anything else is worth discussing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamforge.models.forecaster import BASELINE, FitReport, Forecast, Forecaster, register
from streamforge.models.panel import Panel


@dataclass(frozen=True)
class PersistenceConfig:
    pass


@register("persistence")
class Persistence(Forecaster):
    Config = PersistenceConfig
    kind = BASELINE
    deterministic = True

    def fit(self, panel: Panel, blocks: dict[str, np.ndarray]) -> FitReport:
        return FitReport(0, 0, None, 0.0)

    def forecast(self, panel: Panel, nodes: np.ndarray) -> Forecast:
        return Forecast(panel.nodes["log_rv"].to_numpy()[nodes], panel.nodes["log_return"].to_numpy()[nodes])

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
