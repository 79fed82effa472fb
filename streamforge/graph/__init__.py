"""The market graph: nodes are (instrument, 5-minute interval), edges are temporal, cross-asset, similarity and
cross-venue links."""

from streamforge.graph.builder import GraphBundle, GraphConfig, GraphStats, build_graph, build_graph_with_stats, to_pyg
from streamforge.graph.edges import EDGE_TYPES
from streamforge.graph.features import FEATURES, FeatureSet

__all__ = [
    "EDGE_TYPES",
    "FEATURES",
    "FeatureSet",
    "GraphBundle",
    "GraphConfig",
    "GraphStats",
    "build_graph",
    "build_graph_with_stats",
    "to_pyg",
]
