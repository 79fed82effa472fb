"""`gat`: graph attention (Veličković et al. 2018) over every edge, the edge's type and weight as edge features, so
attention can tell a lead-lag message from a temporal one and weigh each neighbour by what it says."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch_geometric.nn import GATConv

from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.forecaster import register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster


@dataclass(frozen=True)
class GatConfig(NetConfig):
    heads: int = 2


class GatNet(nn.Module):
    def __init__(self, in_dim: int, config: GatConfig):
        super().__init__()
        dims = [in_dim] + [config.hidden] * config.layers
        edge_dim = len(EDGE_TYPES) + 1
        self.convs = nn.ModuleList(
            GATConv(a, b, heads=config.heads, concat=False, edge_dim=edge_dim) for a, b in zip(dims, dims[1:])
        )
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        edge_attr = torch.cat(
            [F.one_hot(inputs.edge_type, len(EDGE_TYPES)).float(), inputs.edge_weight[:, None]], dim=1
        )
        h = inputs.x
        for i, conv in enumerate(self.convs):
            nodes, edges = inputs.layer(i, len(self.convs))
            h = F.elu(conv((h, h[:nodes]), inputs.edge_index[:, :edges], edge_attr[:edges]))
        return self.heads(h)


@register("gat")
class Gat(NeuralForecaster):
    Config = GatConfig

    def build(self, in_dim: int) -> nn.Module:
        return GatNet(in_dim, self.config)
