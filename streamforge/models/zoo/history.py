"""How far back a model that reads a node's own history looks by default: as far as the relational net's temporal
edges reach (K previous intervals per layer, over its layers) plus the node itself, so the MLP baseline and the
temporal model see the same own past as the GNN and a comparison isolates what the cross-asset edges add."""

from __future__ import annotations

from dataclasses import field

from streamforge import settings


def gnn_reach() -> int:
    return int(settings.get("STREAMFORGE_GRAPH_TEMPORAL_K")) * int(settings.get("STREAMFORGE_MODEL_LAYERS")) + 1


def history_field():
    return field(default_factory=gnn_reach)
