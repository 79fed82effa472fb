"""`model`: the GNN trained on its partition's graph and scored against persistence, HAR-RV and the MLP (gnn-trainer).

The metrics table (test block of the walk-forward split) and the per-instrument gain are the materialisation's metadata,
so the UI shows whether the graph earned its keep. The model's files and its `models` document are written by
`streamforge.models.registry`; `streamforge predict --model <id>` loads them again.
"""

import dagster as dg

from resources import StoreResource
from streamforge.catalog import MODELS, dataset
from streamforge.graph.persist import load_graph
from streamforge.models import TrainConfig, train_and_evaluate
from streamforge.models.registry import model_id, register
from streamforge.models.report import GAIN_HEADER, HEADER, gain_rows, markdown, metrics_rows
from streamforge.models.window import TrainingWindow
from streamforge_assets.graph import graph
from streamforge_assets.metadata import OWNERS
from streamforge_assets.training import GROUP, TRAINING, surfaced, window_of


@dg.asset(
    key=dataset(MODELS).asset,
    partitions_def=TRAINING,
    deps=[graph],
    kinds={"pytorch"},
    owners=OWNERS,
    group_name=GROUP,
    metadata={"store/collections": dataset(MODELS).collection},
    description="GNN forecasting next-interval log realized volatility and return sign, trained on the partition's "
    "graph; metadata: the metrics table against persistence, HAR-RV and an MLP without edges.",
)
def model(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    with surfaced():
        target = store.open()
        bundle, doc = load_graph(target, window_of(context).graph_id)
        # The window the graph was built on, from its own document: that run's window-days tag may differ from this one's.
        window = TrainingWindow.from_dict(doc["window"])
        config = TrainConfig.from_settings()
        trained = train_and_evaluate(bundle, window.split(), config, model_id(window, bundle.config, config))
        registered = register(target, trained, window)
    context.log.info(f"model {trained.model_id} saved to {registered['path']}")
    return dg.MaterializeResult(
        metadata={
            "model_id": trained.model_id,
            "path": dg.MetadataValue.path(registered["path"]),
            "metrics": dg.MetadataValue.md(markdown(HEADER, metrics_rows(trained.metrics))),
            "gnn_gain": dg.MetadataValue.md(markdown(GAIN_HEADER, gain_rows(trained.metrics))),
            "epochs": dg.MetadataValue.json(registered["epochs"]),
            "window": dg.MetadataValue.json(window.to_dict()),
            "seed": config.seed,
        }
    )
