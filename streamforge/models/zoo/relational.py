"""`relational`: the relational graph network over typed edges (the platform's first GNN).

Each layer is h' = relu(W_root h + sum over edge types r of W_r * mean_{j -> i of type r}(w_ji * h_j)): one weight
matrix per edge type (temporal, cross-asset and similarity messages mean different things), edge weights scale the
messages (the lead-lag correlation, the similarity). Aggregation is PyG's `SimpleConv`, which needs no compiled
extension. `edge_types` chooses the edges it may use: all three, or one alone for the ablations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch_geometric.nn import SimpleConv

from streamforge.errors import ConfigError
from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.forecaster import register
from streamforge.models.neural import Heads, Inputs, NetConfig, NeuralForecaster


class RelationalLayer(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, edge_types: tuple[str, ...]):
        super().__init__()
        self.root = nn.Linear(in_dim, out_dim)
        self.relations = nn.ModuleDict({t: nn.Linear(in_dim, out_dim, bias=False) for t in edge_types})
        self.aggregate = SimpleConv(aggr="mean")

    def forward(self, h: torch.Tensor, inputs: Inputs, nodes: int, edges: int) -> torch.Tensor:
        """Outputs for the first `nodes` nodes, from the first `edges` edges (see `Inputs.layer`)."""
        out = self.root(h[:nodes])
        for t, linear in self.relations.items():
            edge_index, _, edge_weight = inputs.edges_of((t,), edges)
            out = out + linear(self.aggregate((h, h[:nodes]), edge_index, edge_weight))
        return torch.relu(out)


@dataclass(frozen=True)
class RelationalConfig(NetConfig):
    edge_types: tuple[str, ...] = EDGE_TYPES


class RelationalNet(nn.Module):
    def __init__(self, in_dim: int, config: RelationalConfig):
        super().__init__()
        dims = [in_dim] + [config.hidden] * config.layers
        self.layers = nn.ModuleList(RelationalLayer(a, b, tuple(config.edge_types)) for a, b in zip(dims, dims[1:]))
        self.heads = Heads(config.hidden)

    def forward(self, inputs: Inputs):
        h = inputs.x
        for i, layer in enumerate(self.layers):
            h = layer(h, inputs, *inputs.layer(i, len(self.layers)))
        return self.heads(h)


@register("relational")
class Relational(NeuralForecaster):
    Config = RelationalConfig

    def build(self, in_dim: int) -> nn.Module:
        unknown = sorted(set(self.config.edge_types) - set(EDGE_TYPES))
        if unknown:
            raise ConfigError(f"relational: unknown edge types {unknown}; known: {list(EDGE_TYPES)}")
        return RelationalNet(in_dim, self.config)
