"""`harx`: HAR-X, the strongest linear model with the graph's cross-asset information.

HAR (`har`) plus, for every lead-lag pair found on the training block (the graph's own pairs: HAC-tested and
corrected for multiple testing), the leader's log RV and return at the interval the pair says announces the
follower's next one — the same information a cross-asset edge carries, in a regression refitted per window. An
instrument nobody leads gets plain HAR. A leader's interval missing from the data counts as the leader's training
mean (the regressor's column is centred, so that is zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from streamforge.models.forecaster import register
from streamforge.models.panel import Panel
from streamforge.models.zoo.har import Har


@dataclass(frozen=True)
class HarXConfig:
    pass


@register("harx")
class HarX(Har):
    Config = HarXConfig

    def regressors(self, panel: Panel, column: str) -> np.ndarray:
        base = super().regressors(panel, column)
        values = panel.nodes[column].to_numpy()
        instruments, everyone = panel.instruments, torch.arange(panel.num_nodes)
        leaders = []
        for pair in panel.stats.lead_lag.iter_rows(named=True):
            # node (follower, t) forecasts t+1, which the leader announced at t+1-lag (see graph/edges.py)
            source = panel.earlier(everyone, pair["lag"] - 1, pair["leader"]).numpy()
            ok = (source >= 0) & (instruments == pair["follower"])
            regressor = np.zeros(panel.num_nodes)
            regressor[ok] = values[source[ok]] - self._leader_mean(panel, pair["leader"], column)
            leaders.append(regressor)
        return np.column_stack([base, *leaders]) if leaders else base

    @staticmethod
    def _leader_mean(panel: Panel, leader: str, column: str) -> float:
        train = panel.nodes["open_time"].dt.epoch("us").to_numpy() < panel.stats.train_end_us
        return float(panel.nodes[column].to_numpy()[train & (panel.instruments == leader)].mean())
