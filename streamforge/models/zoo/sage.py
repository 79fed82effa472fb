"""`sage`: GraphSAGE (Hamilton et al. 2017) with mean aggregation: h' = relu(W_root h + W_neigh mean_j h_j) over
every edge, untyped and unweighted — the plain inductive GNN the typed relational net must beat."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch_geometric.nn import SAGEConv

from streamforge.models.forecaster import register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster


@dataclass(frozen=True)
class SageConfig(NetConfig):
    pass


class SageNet(nn.Module):
    def __init__(self, in_dim: int, config: SageConfig):
        super().__init__()
        dims = [in_dim] + [config.hidden] * config.layers
        self.convs = nn.ModuleList(SAGEConv(a, b, aggr="mean") for a, b in zip(dims, dims[1:]))
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        h = inputs.x
        for i, conv in enumerate(self.convs):
            nodes, edges = inputs.layer(i, len(self.convs))
            h = torch.relu(conv((h, h[:nodes]), inputs.edge_index[:, :edges]))
        return self.heads(h)


@register("sage")
class Sage(NeuralForecaster):
    Config = SageConfig

    def build(self, in_dim: int) -> nn.Module:
        return SageNet(in_dim, self.config)
