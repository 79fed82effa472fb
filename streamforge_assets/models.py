"""`model`: the STREAMFORGE_MODEL forecaster trained on its partition's graph and scored against every baseline
(persistence, HAR, HAR-X, the MLP) on the test block of the window's split (gnn-trainer).

The metrics table (mean, HAC standard error, Diebold–Mariano against the best baseline) and the model card are the
materialisation's metadata. The model's files and its `models` document are written by
`streamforge.models.registry`; `streamforge predict --model <id>` loads them again.
"""

import dagster as dg

from resources import StoreResource
from streamforge import settings
from streamforge.catalog import MODELS, dataset
from streamforge.graph.persist import load_graph
from streamforge.models.report import leaderboard_markdown
from streamforge.models.window import TrainingWindow
from streamforge.models.lineup import lineup_spec
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
    description="The STREAMFORGE_MODEL forecaster (the relational GNN by default) of next-interval log realized "
    "volatility and return sign, trained on the partition's graph; metadata: the test-block table against "
    "persistence, HAR, HAR-X and the MLP, with standard errors and Diebold–Mariano tests, and the model card.",
)
def model(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    # PyTorch comes with these: imported by the runs that train, not by every process that loads the definitions.
    from streamforge.models.train import train_and_evaluate
    from streamforge.models.registry import model_id, register

    with surfaced():
        target = store.open()
        bundle, doc = load_graph(target, window_of(context, target).graph_id)
        # The window the graph was built on, from its own document: that run's window-days tag may differ from this one's.
        window = TrainingWindow.from_dict(doc["window"])
        spec, seed = lineup_spec(settings.get("STREAMFORGE_MODEL")), int(settings.get("STREAMFORGE_MODEL_SEED"))
        trained = train_and_evaluate(bundle, window.split(), spec, seed, model_id(window, bundle.config, spec, seed))
        registered = register(target, trained, window)
    context.log.info(f"model {trained.model_id} saved to {registered['path']}")
    return dg.MaterializeResult(
        metadata={
            "model_id": trained.model_id,
            "model": spec.label,
            "path": dg.MetadataValue.path(registered["path"]),
            "metrics": dg.MetadataValue.md(leaderboard_markdown(trained.metrics, [window.end])),
            "card": dg.MetadataValue.json(trained.card),
            "epochs": trained.fit_report.epochs,
            "window": dg.MetadataValue.json(window.to_dict()),
            "seed": seed,
        }
    )
