"""Where trained models live and how they are found again.

A model's files (`save_model`: weights, manifest, metrics) go to `STREAMFORGE_HOME/models/<model_id>/`; the store's
`models` collection holds one document per model — window, model, seed, where the files are, the test-block metrics
against the baselines and the model card — so `streamforge models` lists every model without opening any file, on
either store backend.

A model id is `<instruments>_<training date>_<label>_<hash>`, the hash over the window, the model's config, the seed and
every graph setting: the same training (deterministic, seeded) keeps its id and replaces its files; any other
setting gets a new id and sits beside the earlier models.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from streamforge import catalog, settings
from streamforge.errors import StoreError
from streamforge.graph.builder import GraphConfig
from streamforge.models.forecaster import ModelSpec
from streamforge.models.persist import MANIFEST, load_model, save_model
from streamforge.models.train import TrainedModel
from streamforge.models.window import TrainingWindow
from streamforge.store import Store

MODELS = catalog.dataset(catalog.MODELS).collection


def models_dir() -> Path:
    return settings.home() / "models"


def model_id(window: TrainingWindow, graph_config: GraphConfig, spec: ModelSpec, seed: int) -> str:
    identity = json.dumps(
        {"window": window.to_dict(), "graph": graph_config.to_dict(), "model": spec.to_dict(), "seed": seed},
        sort_keys=True,
        default=str,
    )
    return f"{window.graph_id}_{spec.label}_{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


def register(store: Store, model: TrainedModel, window: TrainingWindow) -> dict:
    """Save the model's files and its document in the `models` collection; return the document."""
    directory = save_model(models_dir() / model.model_id, model)
    doc = {
        "model_id": model.model_id,
        "path": str(directory),
        "graph_id": window.graph_id,
        "window": window.to_dict(),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model.spec.label,
        "seed": model.seed,
        "epochs": model.fit_report.epochs,
        "metrics": model.metrics.to_dicts(),
        "card": model.card,
    }
    store.put_documents(MODELS, [doc], key_field="model_id")
    return doc


def list_models(store: Store) -> list[dict]:
    return store.get_documents(MODELS)


def open_model(store: Store, model: str) -> TrainedModel:
    """Load a model by id (looked up in the `models` collection) or by the path of its folder."""
    path = Path(model)
    if not (path / MANIFEST).exists():
        docs = store.get_documents(MODELS, {"model_id": model})
        if not docs:
            known = ", ".join(d["model_id"] for d in list_models(store)) or "none (train one with `streamforge train`)"
            raise StoreError(f"no model {model!r}: not a model folder, and not an id in the store (known: {known})")
        path = Path(docs[0]["path"])
    return load_model(path)
