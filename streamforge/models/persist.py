"""Save and load a trained model: a folder with `weights.pt` (the forecaster's state: a net's weights, a
regression's coefficients), `manifest.json` (model spec, seed, graph configuration and statistics, split, variance
correction, fit report, model card), `metrics.parquet` (the test-block leaderboard) and `MODEL_CARD.md`.

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
from streamforge.models.card import card_markdown
from streamforge.models.forecaster import FitReport, ModelSpec
from streamforge.models.leaderboard import LEADERBOARD_SCHEMA
from streamforge.models.report import HEAD_HEADER, head_rows, markdown
from streamforge.models.split import Split
from streamforge.models.train import TrainedModel

MANIFEST, WEIGHTS, METRICS, CARD = "manifest.json", "weights.pt", "metrics.parquet", "MODEL_CARD.md"


def save_model(directory: str | Path, model: TrainedModel) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.forecaster.state_dict(), directory / WEIGHTS)
    model.metrics.write_parquet(directory / METRICS)
    manifest = {
        "model_id": model.model_id,
        "spec": {"forecaster": model.spec.forecaster, "label": model.spec.label, "overrides": list(model.spec.overrides)},
        "seed": model.seed,
        "graph_config": model.graph_config.to_dict(),
        "stats": model.stats.to_dict(),
        "split": model.split.to_dict(),
        "residual_variance": model.residual_variance,
        "fit_report": vars(model.fit_report),
        "card": model.card,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    (directory / CARD).write_text(card_markdown(model.card, markdown(HEAD_HEADER, head_rows(model.metrics))))
    return directory


def load_model(directory: str | Path) -> TrainedModel:
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise StoreError(f"{directory} holds no saved model ({MANIFEST} is missing)") from None
    if "spec" not in manifest or "rv_floor" not in manifest["stats"]:
        raise FeatureSetMismatchError(
            f"{directory} holds a model saved by an older StreamForge (no model spec or RV floor): retrain it"
        )
    stats = GraphStats.from_dict(manifest["stats"])
    _check_feature_set(stats)
    saved = manifest["spec"]
    overrides = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in saved["overrides"])
    spec = ModelSpec(saved["forecaster"], saved["label"], overrides)
    forecaster = spec.build(manifest["seed"])
    forecaster.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
    return TrainedModel(
        model_id=manifest["model_id"],
        spec=spec,
        seed=manifest["seed"],
        forecaster=forecaster,
        graph_config=GraphConfig(**manifest["graph_config"]),
        stats=stats,
        split=Split(**manifest["split"]),
        residual_variance=manifest["residual_variance"],
        fit_report=FitReport(**manifest["fit_report"]),
        metrics=pl.read_parquet(directory / METRICS).cast(LEADERBOARD_SCHEMA),
        card=manifest["card"],
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
