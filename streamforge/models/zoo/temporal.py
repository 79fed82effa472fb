"""`temporal`: a recurrent encoder of each node's own history, then a graph layer.

A GRU reads the features of the node's last `history` intervals (oldest first) into a state; one relational layer
then lets each node combine its state with its neighbours' states over the typed edges. The sequence model carries
persistence and intraday shape, the graph layer the cross-asset lead.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.forecaster import register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster
from streamforge.models.zoo.history import history_field
from streamforge.models.zoo.relational import RelationalLayer


@dataclass(frozen=True)
class TemporalConfig(NetConfig):
    history: int = history_field()


class TemporalNet(nn.Module):
    def __init__(self, in_dim: int, config: TemporalConfig):
        super().__init__()
        self.gru = nn.GRU(in_dim, config.hidden, batch_first=True)
        self.graph = RelationalLayer(config.hidden, config.hidden, EDGE_TYPES)
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        _, state = self.gru(inputs.history)
        return self.heads(self.graph(state[-1], inputs, *inputs.layer(0, 1)))


@register("temporal")
class Temporal(NeuralForecaster):
    Config = TemporalConfig

    @property
    def graph_layers(self) -> int:
        return 1

    def build(self, in_dim: int) -> nn.Module:
        return TemporalNet(in_dim, self.config)
