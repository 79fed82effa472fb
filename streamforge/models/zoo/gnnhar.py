"""`gnnhar`: HAR through a graph layer (after GNNHAR, Zhang et al. 2023).

The node's HAR components (mean log RV over 5 min, 30 min, 4 h, 1 day, standardised per instrument) enter a linear
HAR forecast and, in parallel, relational graph layers over the typed edges whose output corrects it: with the graph
part at zero it is HAR, so whatever it gains over HAR comes from the neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.forecaster import register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster
from streamforge.models.panel import HAR_HORIZONS
from streamforge.models.zoo.relational import RelationalLayer


@dataclass(frozen=True)
class GnnHarConfig(NetConfig):
    edge_types: tuple[str, ...] = EDGE_TYPES


class GnnHarNet(nn.Module):
    def __init__(self, config: GnnHarConfig):
        super().__init__()
        har = len(HAR_HORIZONS)
        self.linear = nn.Linear(har, 2)
        dims = [har] + [config.hidden] * config.layers
        self.layers = nn.ModuleList(RelationalLayer(a, b, tuple(config.edge_types)) for a, b in zip(dims, dims[1:]))
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        h = inputs.har
        for i, layer in enumerate(self.layers):
            h = layer(h, inputs, *inputs.layer(i, len(self.layers)))
        log_rv, logit = self.heads(h)
        base = self.linear(inputs.har[: len(h)])
        return base[:, 0] + log_rv, base[:, 1] + logit


@register("gnnhar")
class GnnHar(NeuralForecaster):
    Config = GnnHarConfig

    def build(self, in_dim: int) -> nn.Module:
        return GnnHarNet(self.config)
