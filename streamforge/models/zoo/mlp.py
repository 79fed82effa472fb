"""`mlp`: the edge-free neural baseline. It reads what the GNN can reach of the node's own instrument — the features
of its last `history` intervals (by default the GNN's temporal reach) and the HAR components (a day of log RV, what
the similarity edges search) — but nothing of other instruments, so "GNN vs MLP" measures the cross-asset edges."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from streamforge.models.forecaster import BASELINE, register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster
from streamforge.models.panel import HAR_HORIZONS
from streamforge.models.zoo.history import history_field


@dataclass(frozen=True)
class MlpConfig(NetConfig):
    history: int = history_field()


class MlpNet(nn.Module):
    def __init__(self, in_dim: int, config: MlpConfig):
        super().__init__()
        dims = [in_dim * config.history + len(HAR_HORIZONS)] + [config.hidden] * config.layers
        self.body = nn.Sequential(*(m for a, b in zip(dims, dims[1:]) for m in (nn.Linear(a, b), nn.ReLU())))
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        return self.heads(self.body(torch.cat([inputs.history.flatten(1), inputs.har], dim=1)))


@register("mlp")
class Mlp(NeuralForecaster):
    Config = MlpConfig
    kind = BASELINE

    @property
    def graph_layers(self) -> int:
        return 0  # no neighbours: a mini-batch is its seeds

    def build(self, in_dim: int) -> nn.Module:
        return MlpNet(in_dim, self.config)
