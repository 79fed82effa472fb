"""`graph`: the market graph of a training window, built from the stored candles and trades (issue 3, graph-builder).

Reads the window's `candles_5m`, `candles_1m` and `trades` through the store, builds nodes, typed edges and the
statistics of the training part (`streamforge.graph`), and keeps them in the store's graph collections with a
document of statistics (`streamforge.graph.persist`); the `model` asset loads it from there.
"""

from datetime import datetime, timezone

import dagster as dg

from resources import StoreResource
from streamforge.catalog import GRAPH_EDGES, GRAPH_NODES, GRAPHS, dataset
from streamforge.graph.persist import save_graph
from streamforge.models.report import markdown
from streamforge.models.window import build_window_graph
from streamforge.schemas import GRAPH_NODE
from streamforge_assets.metadata import OWNERS, table_schema
from streamforge_assets.training import GROUP, TRAINING, UPSTREAM, WINDOW_MAPPING, require_upstream, surfaced, window_of

GRAPH_COLLECTIONS = [dataset(name).collection for name in (GRAPH_NODES, GRAPH_EDGES, GRAPHS)]


@dg.asset(
    key=dataset(GRAPHS).asset,
    partitions_def=TRAINING,
    deps=[dg.AssetDep(dg.AssetKey(a.split("/")), partition_mapping=WINDOW_MAPPING) for a in UPSTREAM],
    kinds={"arangodb", "pytorch"},
    owners=OWNERS,
    group_name=GROUP,
    metadata={"dagster/column_schema": table_schema(GRAPH_NODE), "store/collections": ", ".join(GRAPH_COLLECTIONS)},
    description="Market graph of the training window: (instrument, 5-minute interval) nodes with features normalised on "
    "the training part; temporal, cross-asset (lead-lag) and similarity edges. Partition: training date × instrument set.",
)
def graph(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    with surfaced():
        target = store.open()
        window = window_of(context, target)
        require_upstream(context.instance, window)
        bundle = build_window_graph(target, window)
        save_graph(target, window.graph_id, bundle, window.to_dict())
    edges = bundle.edges.group_by("edge_type").len().sort("edge_type")
    lead_lag = bundle.stats.lead_lag.sort("follower", "leader", "lag")
    return dg.MaterializeResult(
        metadata={
            "graph_id": window.graph_id,
            "window": dg.MetadataValue.json(window.to_dict()),
            "nodes": bundle.nodes.height,
            "edges": dg.MetadataValue.json(dict(edges.iter_rows())),
            "lead_lag": dg.MetadataValue.md(
                markdown(
                    ("leader", "follower", "lag (5 min)", "rho", "HAC z", "p", "pairs"),
                    [(r["leader"], r["follower"], str(r["lag"]), f"{r['rho']:.3f}", f"{r['z']:.1f}", f"{r['p_value']:.2g}",
                      str(r["n"])) for r in lead_lag.iter_rows(named=True)],
                )
                if lead_lag.height
                else "no lead-lag pair survives the multiple-testing correction on the training part: no cross-asset edges"
            ),
            "absent_features": dg.MetadataValue.json(list(bundle.stats.absent_features)),
            "train_end": datetime.fromtimestamp(bundle.stats.train_end_us / 1e6, timezone.utc).isoformat(),
            "store/backend": store.backend,
        }
    )
