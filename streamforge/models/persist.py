"""Save and load a trained model: a folder with `weights.pt` (the GNN's state dict), `manifest.json` (architecture,
graph and training configuration, feature set, normalisation, lead-lag pairs, split, seed) and `metrics.parquet`.

Loading checks the saved feature set against the current code's `FEATURES`: normalisation statistics and weights are
bound to feature positions, so a model trained on another feature set would score garbage without any error.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import torch

from streamforge.errors import FeatureSetMismatchError, StoreError
from streamforge.graph.builder import GraphConfig, GraphStats
from streamforge.graph.features import FEATURES
from streamforge.models.gnn import ForecastNet
from streamforge.models.split import Split
from streamforge.models.train import FitReport, TrainConfig, TrainedModel
from streamforge.schemas import MODEL_METRICS

MANIFEST, WEIGHTS, METRICS = "manifest.json", "weights.pt", "metrics.parquet"


def save_model(directory: str | Path, model: TrainedModel) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.net.state_dict(), directory / WEIGHTS)
    model.metrics.write_parquet(directory / METRICS)
    manifest = {
        "model_id": model.model_id,
        "architecture": model.net.config,
        "graph_config": model.graph_config.to_dict(),
        "stats": model.stats.to_dict(),
        "train_config": model.train_config.to_dict(),
        "split": model.split.to_dict(),
        "fit_reports": {k: vars(v) for k, v in model.fit_reports.items()},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return directory


def load_model(directory: str | Path) -> TrainedModel:
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise StoreError(f"{directory} holds no saved model ({MANIFEST} is missing)") from None
    stats = GraphStats.from_dict(manifest["stats"])
    _check_feature_set(stats)
    arch = manifest["architecture"]
    net = ForecastNet(arch["in_dim"], arch["hidden"], arch["layers"], tuple(arch["edge_types"]))
    net.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
    net.eval()
    return TrainedModel(
        model_id=manifest["model_id"],
        net=net,
        graph_config=GraphConfig(**manifest["graph_config"]),
        stats=stats,
        train_config=TrainConfig(**manifest["train_config"]),
        split=Split(**manifest["split"]),
        metrics=MODEL_METRICS.conform(pl.read_parquet(directory / METRICS)),
        fit_reports={k: FitReport(**v) for k, v in manifest["fit_reports"].items()},
    )


def _check_feature_set(stats: GraphStats) -> None:
    saved = stats.feature_set
    current = FEATURES.without(stats.absent_features)
    if saved == current:
        return
    removed = [n for n in saved.names if n not in current.names]
    added = [n for n in current.names if n not in saved.names]
    parts = [f"version {saved.version} -> {current.version}"] if saved.version != current.version else []
    parts += [f"no longer computed: {removed}"] if removed else []
    parts += [f"new: {added}"] if added else []
    if not removed and not added:
        parts.append(f"order {list(saved.names)} -> {list(current.names)}")
    raise FeatureSetMismatchError(
        "the model was trained on another feature set than the current code computes ("
        + "; ".join(parts)
        + "): retrain it"
    )
