"""Neighbour sampling for mini-batch training, in plain torch, behind PyG's own `NodeLoader`.

Why not `NeighborLoader`: with torch-geometric 2.8.1 and neither of its optional compiled extensions (pyg-lib,
torch-sparse) installed, `NeighborLoader`, `LinkNeighborLoader`, `HGTLoader`, `ClusterLoader`, the GraphSAINT
samplers, `ShaDowKHopSampler` and the old `NeighborSampler` all raise ImportError on first use; only the loaders that
do not sample neighbourhoods (`RandomNodeLoader`, `DataLoader`) run. Those extensions have no wheels for this torch
on the package index, so StreamForge plugs its own `BaseSampler` into `NodeLoader` (the class `NeighborLoader`
itself is built on): batching, shuffling and the slicing of node and edge attributes are PyG's.

Sampling follows messages backwards: a seed receives from at most `fanout[0]` of its in-edges, each of those sources
from at most `fanout[1]` of theirs, and so on (one hop per message-passing layer); -1 takes every in-edge. A seeded
generator makes the batches a function of the seed alone, on the CPU whatever device trains, so CPU and CUDA see the
same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch_geometric.data import Data
from torch_geometric.loader import NodeLoader
from torch_geometric.sampler import BaseSampler, NodeSamplerInput, SamplerOutput


@dataclass(frozen=True)
class InEdges:
    """A graph's edges grouped by destination (compressed columns): the in-edges of node v are positions
    colptr[v]..colptr[v+1] of `src` and `edge_ids`. Built once per graph and shared by every loader over it (sorting
    the 20M edges of 200 instruments x 30 days takes seconds, and training makes two loaders an epoch)."""

    src: torch.Tensor
    edge_ids: torch.Tensor
    colptr: torch.Tensor

    @classmethod
    def of(cls, edge_index: torch.Tensor, num_nodes: int) -> InEdges:
        dst = edge_index[1]
        order = torch.argsort(dst, stable=True)
        colptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        colptr[1:] = torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0)
        return cls(edge_index[0][order], order, colptr)


class InNeighbourSampler(BaseSampler):
    def __init__(self, in_edges: InEdges, fanout: tuple[int, ...], seed: int) -> None:
        self.src, self.edge_ids, self.colptr = in_edges.src, in_edges.edge_ids, in_edges.colptr
        self.fanout = fanout
        self.generator = torch.Generator().manual_seed(seed)
        self._local = torch.full((len(self.colptr) - 1,), -1, dtype=torch.long)

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SamplerOutput:
        seeds = index.node
        nodes, rows, cols, edges = [seeds], [], [], []
        self._local[seeds] = torch.arange(len(seeds))
        count, frontier = len(seeds), seeds
        sampled_nodes, sampled_edges = [len(seeds)], []
        for k in self.fanout:
            start = self.colptr[frontier]
            degree = self.colptr[frontier + 1] - start
            segment = torch.repeat_interleave(torch.arange(len(frontier)), degree)
            first = torch.cumsum(degree, 0) - degree
            rank = torch.arange(len(segment)) - first[segment]
            if k >= 0 and bool((degree > k).any()):
                shuffled = torch.argsort(segment.double() + torch.rand(len(segment), generator=self.generator, dtype=torch.float64))
                segment = segment[shuffled]
                rank = rank[shuffled]  # the in-edge each shuffled slot points at
                keep = (torch.arange(len(segment)) - first[segment]) < k
                segment, rank = segment[keep], rank[keep]
            position = start[segment] + rank
            src = self.src[position]
            new = torch.unique(src[self._local[src] < 0])
            self._local[new] = torch.arange(count, count + len(new))
            count += len(new)
            nodes.append(new)
            rows.append(self._local[src])
            cols.append(self._local[frontier[segment]])
            edges.append(self.edge_ids[position])
            sampled_nodes.append(len(new))
            sampled_edges.append(len(position))
            frontier = new
        node = torch.cat(nodes)
        self._local[node] = -1
        return SamplerOutput(
            node=node,
            row=torch.cat(rows),
            col=torch.cat(cols),
            edge=torch.cat(edges),
            batch=None,
            num_sampled_nodes=sampled_nodes,
            num_sampled_edges=sampled_edges,
            metadata=(index.input_id, index.time),
        )

    def sample_from_edges(self, index, neg_sampling=None):
        raise NotImplementedError("StreamForge samples neighbourhoods of nodes only")


def node_loader(
    data: Data, seeds: torch.Tensor, fanout: tuple[int, ...], batch_size: int, seed: int, shuffle: bool,
    in_edges: InEdges | None = None,
) -> NodeLoader:
    """Batches of `batch_size` consecutive seed nodes with their sampled in-neighbourhoods; the seeds come first in
    each batch (`batch.batch_size` of them) and `batch.n_id` holds the global node ids.

    Why consecutive: node ids follow time (`open_time`, then instrument) and every in-edge comes from the same or an
    earlier interval, so a stretch of time across the universe holds almost all of its own neighbourhood. Random
    seeds share almost none: with fanout 10 and two layers a batch of 8,192 random seeds drew ~0.9M nodes, a stretch
    of 8,192 with every in-edge draws only the few intervals before it, and computes exactly what the full graph
    would. `shuffle` shuffles the order of the stretches (whole batches; a shorter last one stays last)."""
    seeds = torch.sort(seeds).values
    if shuffle:
        whole = len(seeds) // batch_size
        order = torch.randperm(whole, generator=torch.Generator().manual_seed(seed))
        picked = (order[:, None] * batch_size + torch.arange(batch_size)).reshape(-1)
        seeds = torch.cat([seeds[picked], seeds[whole * batch_size :]])
    sampler = InNeighbourSampler(in_edges or InEdges.of(data.edge_index, data.num_nodes), fanout, seed)
    return NodeLoader(data, node_sampler=sampler, input_nodes=seeds, batch_size=batch_size, shuffle=False)
