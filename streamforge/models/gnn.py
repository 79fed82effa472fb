"""The forecaster: a relational graph network over typed edges, and — the same network with no edge types — the MLP
baseline, so that the only difference between the two is the graph.

Each layer is h' = relu(W_root h + sum over edge types r of W_r * mean_{j -> i of type r}(w_ji * h_j)): one weight
matrix per edge type (temporal, cross-asset and similarity messages mean different things), edge weights scale the
messages (the lead-lag correlation, the similarity). Aggregation is PyG's `SimpleConv`, which needs no compiled
extension (torch_scatter / torch_sparse). Two heads read the last layer: next-interval log RV (standardised per
instrument) and a next-return score (a logit of the return being positive).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import SimpleConv

from streamforge.graph.edges import EDGE_TYPES


class RelationalLayer(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, edge_types: tuple[str, ...]):
        super().__init__()
        self.edge_types = edge_types
        self.root = nn.Linear(in_dim, out_dim)
        self.relations = nn.ModuleDict({t: nn.Linear(in_dim, out_dim, bias=False) for t in edge_types})
        self.aggregate = SimpleConv(aggr="mean")

    def forward(self, h, edge_index, edge_type, edge_weight):
        out = self.root(h)
        for t, linear in self.relations.items():
            m = edge_type == EDGE_TYPES.index(t)
            out = out + linear(self.aggregate(h, edge_index[:, m], edge_weight[m]))
        return torch.relu(out)


class ForecastNet(nn.Module):
    def __init__(self, in_dim: int, hidden: int, layers: int, edge_types: tuple[str, ...]):
        super().__init__()
        self.config = {"in_dim": in_dim, "hidden": hidden, "layers": layers, "edge_types": list(edge_types)}
        dims = [in_dim] + [hidden] * layers
        self.layers = nn.ModuleList(RelationalLayer(a, b, tuple(edge_types)) for a, b in zip(dims, dims[1:]))
        self.log_rv_head = nn.Linear(hidden, 1)
        self.return_head = nn.Linear(hidden, 1)

    def forward(self, x, edge_index, edge_type, edge_weight) -> tuple[torch.Tensor, torch.Tensor]:
        h = x
        for layer in self.layers:
            h = layer(h, edge_index, edge_type, edge_weight)
        return self.log_rv_head(h).squeeze(-1), self.return_head(h).squeeze(-1)
