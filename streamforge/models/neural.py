"""What the neural forecasters share: their config fields, the inputs a net reads, and one training loop.

The loss is the MSE of the standardised next log RV (per instrument, training statistics) plus `return_loss_weight`
x the binary cross-entropy of the next return's sign, on training nodes; early stopping watches the same loss on the
validation block, which precedes the test block, and keeps the best epoch.

Two ways through a graph, one loop:
- full graph (up to STREAMFORGE_MODEL_FULL_GRAPH_NODES nodes): one forward pass over every node per epoch, one Adam
  step; deterministic (same seed, same weights).
- mini-batches of STREAMFORGE_MODEL_BATCH_NODES consecutive seed nodes (a stretch of time across the universe, the
  stretches in shuffled order) with their in-neighbourhoods (`sampling`), one Adam step per batch: memory is bounded by
  the batch, not by the universe. With every in-edge (fanout -1, the default) a batch computes what the full graph
  would; a fanout samples them. The order and the sampling are seeded, so this is deterministic too.
The device is STREAMFORGE_MODEL_DEVICE (auto: CUDA when present); batches are sampled on the CPU either way, so the
same seed gives the same batches on both and the results agree up to floating-point reassociation.
"""

from __future__ import annotations

import copy
import logging
import time
from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.forecaster import FitReport, Forecast, Forecaster
from streamforge.models.panel import Panel
from streamforge.models.sampling import node_loader


log = logging.getLogger(__name__)


def _setting(name: str, kind: type):
    return field(default_factory=lambda: kind(settings.get(name)))


@dataclass(frozen=True)
class NetConfig:
    """Fields every neural forecaster has; defaults from the STREAMFORGE_MODEL_* settings."""

    hidden: int = _setting("STREAMFORGE_MODEL_HIDDEN", int)
    layers: int = _setting("STREAMFORGE_MODEL_LAYERS", int)
    learning_rate: float = _setting("STREAMFORGE_MODEL_LEARNING_RATE", float)
    max_epochs: int = _setting("STREAMFORGE_MODEL_MAX_EPOCHS", int)
    patience: int = _setting("STREAMFORGE_MODEL_PATIENCE", int)
    return_loss_weight: float = _setting("STREAMFORGE_MODEL_RETURN_LOSS_WEIGHT", float)


@dataclass(frozen=True)
class Runtime:
    """Where and how a net trains; not part of a model's identity (the results agree across runtimes)."""

    device: str
    full_graph_nodes: int
    batch_nodes: int
    fanout: int

    @classmethod
    def from_settings(cls) -> Runtime:
        g = settings.get
        return cls(
            device=g("STREAMFORGE_MODEL_DEVICE"),
            full_graph_nodes=int(g("STREAMFORGE_MODEL_FULL_GRAPH_NODES")),
            batch_nodes=int(g("STREAMFORGE_MODEL_BATCH_NODES")),
            fanout=int(g("STREAMFORGE_MODEL_FANOUT")),
        )

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("STREAMFORGE_MODEL_DEVICE=cuda but torch sees no CUDA device; use auto or cpu")
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"STREAMFORGE_MODEL_DEVICE={self.device!r}: use auto, cpu or cuda")
        return torch.device(self.device)


@dataclass
class Inputs:
    """What a net reads for a set of nodes: features, the edges among them, HAR components and — for nets that ask
    for it — each node's own history.

    In a mini-batch the nodes come hop by hop (`nodes_per_hop`: the seeds, then each hop's new nodes) and the edges
    likewise (`edges_per_hop`: hop k's edges end in hop k-1's nodes), so a layer computes only the nodes a later
    layer reads (`layer`): the last layer the seeds alone. In the full graph every layer computes every node."""

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_type: torch.Tensor
    edge_weight: torch.Tensor
    har: torch.Tensor
    history: torch.Tensor | None
    nodes_per_hop: list[int] | None = None
    edges_per_hop: list[int] | None = None
    _positions: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def layer(self, index: int, layers: int) -> tuple[int, int]:
        """(nodes computed, edges read) by layer `index` (0-based) of a `layers`-layer net."""
        if self.nodes_per_hop is None:
            return self.x.shape[0], self.edge_index.shape[1]
        keep = layers - index  # the hops whose nodes this layer's output reaches
        return sum(self.nodes_per_hop[:keep]), sum(self.edges_per_hop[:keep])

    def edges_of(self, edge_types: tuple[str, ...], count: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The first `count` edges (all by default) of the given types only (the ablations). The positions of each
        type are found once per batch: every layer asks again, for a shorter prefix."""
        if self._positions is None:
            self._positions = {t: torch.nonzero(self.edge_type == i).squeeze(1) for i, t in enumerate(EDGE_TYPES)}
        limit = self.edge_type.shape[0] if count is None else count
        parts = [p[: int(torch.searchsorted(p, limit))] for t, p in self._positions.items() if t in edge_types]
        keep = parts[0] if len(parts) == 1 else torch.sort(torch.cat(parts)).values
        return self.edge_index[:, keep], self.edge_type[keep], self.edge_weight[keep]


class NeuralForecaster(Forecaster):
    """A forecaster whose `build(in_dim)` net maps `Inputs` to (standardised next log RV, next-return logit) for
    every node; this class trains and applies it."""

    @property
    def history_length(self) -> int:
        """Intervals of its own history a net reads: its config's `history` field, none without one."""
        return getattr(self.config, "history", 0)

    @property
    def graph_layers(self) -> int:
        """Message-passing layers of the net: the hops a mini-batch samples."""
        return self.config.layers

    def __init__(self, config, seed: int, runtime: Runtime | None = None) -> None:
        super().__init__(config, seed)
        self.runtime = runtime or Runtime.from_settings()
        self.net: nn.Module | None = None
        self.in_dim = 0

    @abstractmethod
    def build(self, in_dim: int) -> nn.Module: ...

    def _inputs(self, panel: Panel, node_ids: torch.Tensor | None, batch, device: torch.device) -> Inputs:
        d = panel.data if batch is None else batch
        ids = torch.arange(panel.num_nodes) if node_ids is None else node_ids
        history = panel.history(ids, self.history_length).to(device) if self.history_length else None
        hops = (None, None) if batch is None else (batch.num_sampled_nodes, batch.num_sampled_edges)
        return Inputs(d.x.to(device), d.edge_index.to(device), d.edge_type.to(device), d.edge_weight.to(device),
                      d.har.to(device), history, *hops)

    def _full_graph(self, panel: Panel) -> bool:
        return panel.num_nodes <= self.runtime.full_graph_nodes

    def _batches(self, panel: Panel, mask: np.ndarray, shuffle: bool, seed: int):
        """(Inputs, targets' global ids) per batch of the nodes in `mask`."""
        device = self.runtime.torch_device()
        if self._full_graph(panel):
            yield self._inputs(panel, None, None, device), torch.from_numpy(np.nonzero(mask)[0])
            return
        fanout = (self.runtime.fanout,) * self.graph_layers
        loader = node_loader(panel.data, torch.from_numpy(np.nonzero(mask)[0]), fanout, self.runtime.batch_nodes, seed,
                             shuffle, panel.in_edges)
        for batch in loader:
            yield self._inputs(panel, batch.n_id, batch, device), batch.n_id[: batch.batch_size]

    def _outputs(self, inputs: Inputs, ids: torch.Tensor, full: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The net's outputs for the target nodes `ids` (a mini-batch's net computes its seeds alone)."""
        log_rv, logit = self.net(inputs)
        if full:
            return log_rv[ids.to(log_rv.device)], logit[ids.to(log_rv.device)]
        return log_rv[: len(ids)], logit[: len(ids)]

    def _loss(self, panel: Panel, inputs: Inputs, ids: torch.Tensor, full: bool) -> torch.Tensor:
        log_rv, logit = self._outputs(inputs, ids, full)
        device = log_rv.device
        y, r = panel.data.y_std[ids].to(device), panel.data.y_return[ids].to(device)
        loss = F.mse_loss(log_rv, y)
        moved = r != 0
        if not bool(moved.any()):
            return loss
        direction = F.binary_cross_entropy_with_logits(logit[moved], (r[moved] > 0).float())
        return loss + self.config.return_loss_weight * direction

    def fit(self, panel: Panel, blocks: dict[str, np.ndarray]) -> FitReport:
        torch.manual_seed(self.seed)
        device = self.runtime.torch_device()
        self.in_dim = panel.data.num_node_features
        self.net = self.build(self.in_dim).to(device)
        optimiser = torch.optim.Adam(self.net.parameters(), lr=self.config.learning_rate)
        full = self._full_graph(panel)
        start = time.perf_counter()
        best, best_epoch, best_state, epoch = float("inf"), 0, copy.deepcopy(self.net.state_dict()), 0
        for epoch in range(1, self.config.max_epochs + 1):
            self.net.train()
            for inputs, ids in self._batches(panel, blocks["train"], shuffle=True, seed=self.seed + epoch):
                optimiser.zero_grad()
                self._loss(panel, inputs, ids, full).backward()
                optimiser.step()
            val_loss = self._validation_loss(panel, blocks["validation"], full)
            log.info("%s seed %d epoch %d: validation loss %.4f (%.1f s)", self.name, self.seed, epoch, val_loss,
                     time.perf_counter() - start)
            if val_loss < best:
                best, best_epoch, best_state = val_loss, epoch, copy.deepcopy(self.net.state_dict())
            elif epoch - best_epoch >= self.config.patience:
                break
        self.net.load_state_dict(best_state)
        self.net.eval()
        return FitReport(epoch, best_epoch, best, time.perf_counter() - start)

    def _validation_loss(self, panel: Panel, mask: np.ndarray, full: bool) -> float:
        self.net.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for inputs, ids in self._batches(panel, mask, shuffle=False, seed=self.seed):
                total += float(self._loss(panel, inputs, ids, full)) * len(ids)
                count += len(ids)
        return total / max(count, 1)

    def forecast(self, panel: Panel, nodes: np.ndarray) -> Forecast:
        self.net.eval()
        full = self._full_graph(panel)
        mask = np.zeros(panel.num_nodes, bool)
        mask[nodes] = True
        log_rv, score = np.empty(panel.num_nodes), np.empty(panel.num_nodes)
        with torch.no_grad():
            for inputs, ids in self._batches(panel, mask, shuffle=False, seed=self.seed):
                out_rv, out_logit = self._outputs(inputs, ids, full)
                log_rv[ids.numpy()] = out_rv.double().cpu().numpy()
                score[ids.numpy()] = out_logit.double().cpu().numpy()
        return Forecast(log_rv[nodes] * panel.std[nodes] + panel.mean[nodes], score[nodes])

    def state_dict(self) -> dict:
        return {"in_dim": self.in_dim, "weights": {k: v.cpu() for k, v in self.net.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        self.in_dim = state["in_dim"]
        self.net = self.build(self.in_dim).to(self.runtime.torch_device())
        self.net.load_state_dict(state["weights"])
        self.net.eval()


class Heads(nn.Module):
    """The two outputs every net ends with: next log RV (standardised) and the next-return logit."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.log_rv = nn.Linear(hidden, 1)
        self.ret = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.log_rv(h).squeeze(-1), self.ret(h).squeeze(-1)
