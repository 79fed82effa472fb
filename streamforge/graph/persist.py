"""Keep a built graph in the store and get it back as the `GraphBundle` the trainer turns into a PyG object.

Nodes and edges go to the store's graph collections (`Store.replace_graph`: Parquet tables in the embedded store, a
vertex and an edge collection under a named graph in ArangoDB), so the graph can be queried like any other data.
What is not a table — the statistics fitted on the training part and the graph configuration — is one document per
graph in the `graphs` collection. The PyTorch Geometric `Data` is not stored a second time: `to_pyg(load_graph(...))`
rebuilds it exactly from the stored tables, so there is one copy that cannot drift from the other.
"""

from __future__ import annotations

from streamforge import catalog
from streamforge.errors import StoreError
from streamforge.graph.builder import GraphBundle, GraphConfig, GraphStats
from streamforge.store import Store

GRAPHS = catalog.dataset(catalog.GRAPHS).collection


def save_graph(store: Store, graph_id: str, bundle: GraphBundle, window: dict) -> dict:
    """Store the graph; return its document (id, window, sizes, statistics, configuration)."""
    store.replace_graph(graph_id, bundle.nodes, bundle.edges)
    doc = {
        "graph_id": graph_id,
        "window": window,
        "nodes": bundle.nodes.height,
        "edges": bundle.edges.height,
        "stats": bundle.stats.to_dict(),
        "config": bundle.config.to_dict(),
    }
    store.put_documents(GRAPHS, [doc], key_field="graph_id")
    return doc


def load_graph(store: Store, graph_id: str) -> tuple[GraphBundle, dict]:
    """The stored graph and its document; StoreError naming the graph when it was never built."""
    docs = store.get_documents(GRAPHS, {"graph_id": graph_id})
    if not docs:
        raise StoreError(f"graph {graph_id!r} is not in the store: materialise its `graph` partition first")
    doc = docs[0]
    try:
        stats, config = GraphStats.from_dict(doc["stats"]), GraphConfig(**doc["config"])
    except (KeyError, TypeError) as exc:
        raise StoreError(
            f"graph {graph_id!r} was built by an older StreamForge ({type(exc).__name__}: {exc}): "
            "re-materialise its `graph` partition"
        ) from None
    nodes, edges = store.read_graph(graph_id)
    return GraphBundle(nodes, edges, stats, config), doc
