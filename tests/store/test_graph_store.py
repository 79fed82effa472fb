"""Market graphs in the store: the same contract on both backends, and in ArangoDB a named graph that AQL traverses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from streamforge.errors import StoreError
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def tiny_graph(n: int, shift: float = 0.0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` nodes of one instrument, each linked to its predecessor (temporal) and to the node two back (similarity)."""
    times = [T0 + timedelta(minutes=5 * i) for i in range(n)]
    nodes = GRAPH_NODE.conform(
        pl.DataFrame(
            {
                "node_id": list(range(n)),
                "instrument": "binance.spot.BTCUSDT",
                "open_time": times,
                "features": [[float(i) + shift, -float(i)] for i in range(n)],
                "log_rv": [-10.0 - i for i in range(n)],
                "log_return": [0.001 * i for i in range(n)],
                "target_log_rv": [-11.0 - i for i in range(n - 1)] + [None],
                "target_return": [0.001 * (i + 1) for i in range(n - 1)] + [None],
            }
        )
    )
    edges = [(i - 1, i, "temporal", 1.0, 1) for i in range(1, n)] + [(i - 2, i, "similarity", 0.5, 2) for i in range(2, n)]
    edges = GRAPH_EDGE.conform(
        pl.DataFrame(edges, schema=["src", "dst", "edge_type", "weight", "offset"], orient="row").with_columns(
            time=pl.Series([times[dst] for _, dst, *_ in edges])
        )
    )
    return nodes, edges.sort(list(GRAPH_EDGE.key))


def test_a_graph_reads_back_equal(store):
    nodes, edges = tiny_graph(6)
    store.replace_graph("BTCUSDT_2025-01-01", nodes, edges)
    read_nodes, read_edges = store.read_graph("BTCUSDT_2025-01-01")
    assert read_nodes.equals(nodes)
    assert read_edges.equals(edges)


def test_replacing_a_graph_drops_what_the_new_one_lacks_and_leaves_other_graphs(store):
    store.replace_graph("A+B_2025-01-01", *tiny_graph(8))
    store.replace_graph("A+B_2025-01-02", *tiny_graph(5))
    smaller = tiny_graph(4, shift=1.0)
    store.replace_graph("A+B_2025-01-01", *smaller)
    nodes, edges = store.read_graph("A+B_2025-01-01")
    assert nodes.equals(smaller[0]) and edges.equals(smaller[1])
    assert store.read_graph("A+B_2025-01-02")[0].height == 5


def test_an_unknown_graph_is_an_error_naming_it(store):
    with pytest.raises(StoreError, match="never-built"):
        store.read_graph("never-built")


@pytest.mark.arango
def test_arangodb_holds_an_edge_collection_and_a_named_graph_aql_traverses(arango_store):
    from streamforge.store.arango import MARKET_GRAPH

    arango_store.replace_graph("traverse_2025-01-01", *tiny_graph(6))
    db = arango_store.db
    assert db.collection("graph_edges").properties()["edge"] is True
    sources = db.aql.execute(
        "FOR v, e IN 1..1 INBOUND @start GRAPH @graph SORT v.node_id RETURN [v.node_id, e.edge_type]",
        bind_vars={"start": "graph_nodes/traverse_2025-01-01:5", "graph": MARKET_GRAPH},
    )
    assert list(sources) == [[3, "similarity"], [4, "temporal"]]


def test_non_finite_values_in_a_graph_are_refused_naming_the_column(offline_store):
    """Both backends, before anything is written (the ArangoDB store here has no server behind it)."""
    nodes, edges = tiny_graph(4)
    broken_nodes = nodes.with_columns(features=pl.Series([[0.0, float("nan")]] + [[1.0, 1.0]] * 3))
    with pytest.raises(StoreError, match="graph g nodes: column 'features' holds 1 NaN"):
        offline_store.replace_graph("g", broken_nodes, edges)
    with pytest.raises(StoreError, match="graph g edges: column 'weight' holds"):
        offline_store.replace_graph("g", nodes, edges.with_columns(weight=pl.lit(float("inf"))))


def test_a_graph_stored_by_an_older_version_is_refused_naming_the_partition_to_rebuild(tmp_path):
    from streamforge.graph.persist import load_graph
    from streamforge.store import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store")
    store.put_documents("graphs", [{"graph_id": "old", "stats": {}, "config": {"cross_min_z": 4.0}}], key_field="graph_id")
    with pytest.raises(StoreError, match="'old' was built by an older StreamForge.*re-materialise its `graph` partition"):
        load_graph(store, "old")
