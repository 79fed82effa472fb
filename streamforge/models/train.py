"""Train the GNN and the MLP baseline with one loop, fit HAR and persistence, and score all four on the same
walk-forward split.

Training is full-graph and full-batch on the CPU: a month of three instruments is ~26k nodes, small enough that one
forward pass over the whole graph is cheaper than sampling neighbourhoods, and full-batch Adam with a fixed seed and no
dropout is deterministic (same seed, same weights, same metrics). The loss is the MSE of the standardised next log RV
plus `return_loss_weight` x the binary cross-entropy of the next return's sign, on training nodes only; early
stopping watches the same loss on the validation block, which precedes the test block, and keeps the best epoch.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
import torch
from torch.nn import functional as F

from streamforge import settings
from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.graph.builder import GraphBundle, GraphConfig, GraphStats, to_pyg
from streamforge.graph.edges import EDGE_TYPES
from streamforge.models.baselines import Forecast, Har, persistence
from streamforge.models.gnn import ForecastNet
from streamforge.models.metrics import score
from streamforge.models.split import Split
from streamforge.schemas import MODEL_METRICS


@dataclass(frozen=True)
class TrainConfig:
    seed: int
    hidden: int
    layers: int
    learning_rate: float
    max_epochs: int
    patience: int
    return_loss_weight: float

    @classmethod
    def from_settings(cls) -> TrainConfig:
        g = settings.get
        return cls(
            seed=int(g("STREAMFORGE_MODEL_SEED")),
            hidden=int(g("STREAMFORGE_MODEL_HIDDEN")),
            layers=int(g("STREAMFORGE_MODEL_LAYERS")),
            learning_rate=float(g("STREAMFORGE_MODEL_LEARNING_RATE")),
            max_epochs=int(g("STREAMFORGE_MODEL_MAX_EPOCHS")),
            patience=int(g("STREAMFORGE_MODEL_PATIENCE")),
            return_loss_weight=float(g("STREAMFORGE_MODEL_RETURN_LOSS_WEIGHT")),
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FitReport:
    epochs: int
    best_epoch: int
    best_val_loss: float
    seconds: float


@dataclass
class TrainedModel:
    """Everything needed to score a new day and to explain where the model came from."""

    model_id: str
    net: ForecastNet
    graph_config: GraphConfig
    stats: GraphStats  # normalisation, lead-lag pairs, feature set, train end
    train_config: TrainConfig
    split: Split
    metrics: pl.DataFrame  # MODEL_METRICS
    fit_reports: dict[str, FitReport]  # 'gnn', 'mlp'


def train_and_evaluate(
    bundle: GraphBundle, split: Split, config: TrainConfig | None = None, model_id: str = "model"
) -> TrainedModel:
    """Train the GNN and the baselines on `split` of `bundle` and score them on validation and test."""
    config = config or TrainConfig.from_settings()
    if split.train_end_us != bundle.stats.train_end_us:
        raise ConfigError(
            f"the graph was normalised with data up to {bundle.stats.train_end_us} µs but the split trains up to "
            f"{split.train_end_us} µs: build the graph with train_end=split.train_end_us"
        )
    nodes = bundle.nodes
    data = to_pyg(bundle)
    has_target = torch.isfinite(data.y_log_rv).numpy()
    blocks = {name: mask & has_target for name, mask in split.blocks(nodes["open_time"].dt.epoch("us").to_numpy()).items()}
    empty = [name for name, mask in blocks.items() if not mask.any()]
    if empty:
        raise InsufficientDataError(f"no nodes with a target in the {', '.join(empty)} block(s) of the split")

    mean, std = bundle.stats.normalisation.log_rv_scale(nodes["instrument"].to_list())
    data.y_std = torch.tensor((np.nan_to_num(data.y_log_rv.numpy()) - mean) / std, dtype=torch.float32)

    forecasts: dict[str, Forecast] = {"persistence": persistence(nodes), "har": Har.fit(nodes, blocks["train"]).predict(nodes)}
    nets, reports = {}, {}
    for name, edge_types in (("gnn", EDGE_TYPES), ("mlp", ())):
        net, reports[name] = fit(data, blocks, edge_types, config)
        nets[name] = net
        forecasts[name] = net_forecast(net, data, mean, std)

    rows = [
        row
        for name, forecast in forecasts.items()
        for block in ("validation", "test")
        for row in score(
            name,
            block,
            nodes["instrument"].to_numpy()[blocks[block]],
            forecast.log_rv[blocks[block]],
            forecast.return_score[blocks[block]],
            data.y_log_rv.numpy()[blocks[block]],
            data.y_return.numpy()[blocks[block]],
        )
    ]
    metrics = MODEL_METRICS.conform(
        pl.DataFrame(rows).with_columns(
            model_id=pl.lit(model_id), window_end=pl.lit(split.end_us).cast(pl.Datetime("us", "UTC"))
        ).select(MODEL_METRICS.names)
    )
    return TrainedModel(model_id, nets["gnn"], bundle.config, bundle.stats, config, split, metrics, reports)


def fit(data, blocks: dict[str, np.ndarray], edge_types: tuple[str, ...], config: TrainConfig) -> tuple[ForecastNet, FitReport]:
    torch.manual_seed(config.seed)
    net = ForecastNet(data.num_node_features, config.hidden, config.layers, edge_types)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    train, val = (torch.from_numpy(blocks[b]) for b in ("train", "validation"))
    start = time.perf_counter()
    best, best_epoch, best_state, epoch = float("inf"), 0, copy.deepcopy(net.state_dict()), 0
    for epoch in range(1, config.max_epochs + 1):
        net.train()
        optimiser.zero_grad()
        loss = _loss(net, data, train, config)
        loss.backward()
        optimiser.step()
        net.eval()
        with torch.no_grad():
            val_loss = float(_loss(net, data, val, config))
        if val_loss < best:
            best, best_epoch, best_state = val_loss, epoch, copy.deepcopy(net.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    net.load_state_dict(best_state)
    net.eval()
    return net, FitReport(epoch, best_epoch, best, time.perf_counter() - start)


def _loss(net: ForecastNet, data, mask: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    log_rv, logit = net(data.x, data.edge_index, data.edge_type, data.edge_weight)
    loss = F.mse_loss(log_rv[mask], data.y_std[mask])
    moved = mask & (data.y_return != 0)
    direction = F.binary_cross_entropy_with_logits(logit[moved], (data.y_return[moved] > 0).float())
    return loss + config.return_loss_weight * direction


def net_forecast(net: ForecastNet, data, mean: np.ndarray, std: np.ndarray) -> Forecast:
    """Forecasts in natural units: log RV back from standardised units, the return logit as the score."""
    with torch.no_grad():
        log_rv, logit = net(data.x, data.edge_index, data.edge_type, data.edge_weight)
    return Forecast(log_rv.double().numpy() * std + mean, logit.double().numpy())
