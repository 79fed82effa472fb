"""Build the market graph from candles (and optionally trades): nodes with normalised features and targets, typed
edges, and the PyTorch Geometric object the trainer loads.

Whatever the graph learns from data — the RV floor, feature normalisation and the lead-lag pairs — is fitted on the training part
only (before `train_end`) and kept in `GraphStats`, so a saved model rebuilds the graph of a new day with exactly the
statistics it was trained with (`build_graph_with_stats`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from streamforge import settings
from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.graph.edges import (
    EDGE_TYPES,
    LEAD_LAG_SCHEMA,
    cross_asset_edges,
    estimate_lead_lag,
    estimate_venue_pairs,
    similarity_edges,
    temporal_edges,
)
from streamforge.graph.features import (
    FEATURES,
    INTERVAL_US,
    TRADE_FEATURES,
    FeatureSet,
    Normalisation,
    RvFloor,
    node_features,
)
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE

if TYPE_CHECKING:
    from torch_geometric.data import Data


@dataclass(frozen=True)
class GraphConfig:
    temporal_k: int
    cross_max_lag: int
    cross_level: float
    cross_correction: str
    cross_max_pairs: int
    similar_k: int
    similar_window: int
    rv_floor_quantile: float
    large_trade_multiple: float

    @classmethod
    def from_settings(cls) -> GraphConfig:
        g = settings.get
        return cls(
            temporal_k=int(g("STREAMFORGE_GRAPH_TEMPORAL_K")),
            cross_max_lag=int(g("STREAMFORGE_GRAPH_CROSS_MAX_LAG")),
            cross_level=float(g("STREAMFORGE_GRAPH_CROSS_LEVEL")),
            cross_correction=g("STREAMFORGE_GRAPH_CROSS_CORRECTION"),
            cross_max_pairs=int(g("STREAMFORGE_GRAPH_CROSS_MAX_PAIRS")),
            similar_k=int(g("STREAMFORGE_GRAPH_SIMILAR_K")),
            similar_window=int(g("STREAMFORGE_GRAPH_SIMILAR_WINDOW")),
            rv_floor_quantile=float(g("STREAMFORGE_GRAPH_RV_FLOOR_QUANTILE")),
            large_trade_multiple=float(g("STREAMFORGE_GRAPH_LARGE_TRADE_MULTIPLE")),
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GraphStats:
    """What the graph learned from its training part (before `train_end_us`)."""

    train_end_us: int
    feature_set: FeatureSet  # the features present (FEATURES minus the absent ones)
    absent_features: tuple[str, ...]
    rv_floor: RvFloor
    normalisation: Normalisation
    lead_lag: pl.DataFrame  # leader, follower, lag, rho, n, z, p_value
    venue_pairs: pl.DataFrame  # the same asset on two venues, both ways: leader, follower, lag 1, rho, n

    def to_dict(self) -> dict:
        return {
            "train_end_us": self.train_end_us,
            "feature_set": {"version": self.feature_set.version, "names": list(self.feature_set.names)},
            "absent_features": list(self.absent_features),
            "rv_floor": self.rv_floor.to_dict(),
            "normalisation": self.normalisation.to_dict(),
            "lead_lag": self.lead_lag.to_dicts(),
            "venue_pairs": self.venue_pairs.to_dicts(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> GraphStats:
        return cls(
            train_end_us=d["train_end_us"],
            feature_set=FeatureSet(d["feature_set"]["version"], tuple(d["feature_set"]["names"])),
            absent_features=tuple(d["absent_features"]),
            rv_floor=RvFloor.from_dict(d["rv_floor"]),
            normalisation=Normalisation.from_dict(d["normalisation"]),
            lead_lag=pl.DataFrame(d["lead_lag"], schema=LEAD_LAG_SCHEMA),
            venue_pairs=pl.DataFrame(d.get("venue_pairs", []), schema=LEAD_LAG_SCHEMA),  # none before same_asset edges
        )


@dataclass(frozen=True)
class GraphBundle:
    nodes: pl.DataFrame  # GRAPH_NODE, row i has node_id i
    edges: pl.DataFrame  # GRAPH_EDGE
    stats: GraphStats
    config: GraphConfig


def build_graph(
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    trades: pl.DataFrame | None = None,
    *,
    train_end: datetime | int,
    instruments: list[str] | None = None,
    config: GraphConfig | None = None,
    venue_pairs: list[tuple[str, str]] = (),
) -> GraphBundle:
    """The graph of every 5-minute candle given, normalised and lead-lag-linked with data before `train_end`.

    `trades` (AGG_TRADE) only feed `large_trade_share`; without them that feature is absent (recorded in the stats).
    `instruments`, when given, must all have candles (InsufficientDataError names those without). `venue_pairs` are
    the instruments that are one asset on two venues: they get same_asset edges.
    """
    config = config or GraphConfig.from_settings()
    train_end_us = _us(train_end)
    raw = _raw_features(candles_5m, candles_1m, trades, instruments, config)
    absent = tuple(n for n in TRADE_FEATURES if n not in raw.columns)
    feature_set = FEATURES.without(absent)
    rv_floor = RvFloor.fit(raw, config.rv_floor_quantile, train_end_us)
    raw = rv_floor.apply(raw)
    stats = GraphStats(
        train_end_us=train_end_us,
        feature_set=feature_set,
        absent_features=absent,
        rv_floor=rv_floor,
        normalisation=Normalisation.fit(raw, feature_set.names, train_end_us),
        lead_lag=estimate_lead_lag(
            raw, train_end_us, config.cross_max_lag, config.cross_level, config.cross_correction, config.cross_max_pairs
        ),
        venue_pairs=estimate_venue_pairs(raw, train_end_us, list(venue_pairs)),
    )
    return _assemble(raw, stats, config)


def build_graph_with_stats(
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    trades: pl.DataFrame | None,
    stats: GraphStats,
    config: GraphConfig,
) -> GraphBundle:
    """The graph of new candles with the statistics of an earlier training window (for scoring a saved model)."""
    if stats.absent_features:
        trades = None  # trained without the trade features: scoring with them would change the feature set
    elif trades is None and set(TRADE_FEATURES) & set(stats.feature_set.names):
        raise InsufficientDataError(f"the model was trained with {list(TRADE_FEATURES)}: pass the trades")
    raw = stats.rv_floor.apply(_raw_features(candles_5m, candles_1m, trades, None, config))
    return _assemble(raw, stats, config)


def _raw_features(candles_5m, candles_1m, trades, instruments, config: GraphConfig) -> pl.DataFrame:
    if instruments is not None:
        missing = sorted(set(instruments) - set(candles_5m["instrument"].unique()))
        if missing:
            raise InsufficientDataError(f"no 5-minute candles for {missing} in the window")
        candles_5m = candles_5m.filter(pl.col("instrument").is_in(instruments))
        candles_1m = candles_1m.filter(pl.col("instrument").is_in(instruments))
        trades = trades.filter(pl.col("instrument").is_in(instruments)) if trades is not None else None
    if candles_5m.is_empty():
        raise InsufficientDataError("no 5-minute candles in the window")
    return node_features(candles_5m, candles_1m, trades, large_trade_multiple=config.large_trade_multiple)


def _assemble(raw: pl.DataFrame, stats: GraphStats, config: GraphConfig) -> GraphBundle:
    raw = raw.sort("open_time", "instrument").with_row_index("node_id").with_columns(pl.col("node_id").cast(pl.Int64))
    x = stats.normalisation.apply(raw)
    nxt = raw.select(
        "instrument",
        (pl.col("open_time") - pl.duration(microseconds=INTERVAL_US)).alias("open_time"),
        pl.col("log_rv").alias("target_log_rv"),
        pl.col("log_return").alias("target_return"),
    )
    nodes = GRAPH_NODE.conform(
        raw.with_columns(features=pl.Series(x.tolist(), dtype=pl.List(pl.Float64)))
        .join(nxt, on=["instrument", "open_time"], how="left")
        .sort("node_id")
        .select(GRAPH_NODE.names)
    )
    keys = nodes.select("node_id", "instrument", "open_time")
    edges = pl.concat(
        [
            temporal_edges(keys, config.temporal_k),
            cross_asset_edges(keys, stats.lead_lag),
            cross_asset_edges(keys, stats.venue_pairs, "same_asset"),
            similarity_edges(keys, x, config.similar_k, config.similar_window),
        ]
    )
    return GraphBundle(nodes=nodes, edges=GRAPH_EDGE.conform(edges), stats=stats, config=config)


def to_pyg(bundle: GraphBundle) -> Data:
    """A homogeneous `Data` with typed edges: x, edge_index, edge_type (index into EDGE_TYPES), edge_weight, and the
    targets y_log_rv / y_return (NaN where the next interval is missing; the trainer masks them).

    PyTorch is imported here, not with the module: every Dagster run imports the definitions, which import the graph
    builder, and only the runs that train need tensors (the import costs seconds of each run's start-up)."""
    import torch
    from torch_geometric.data import Data

    nodes, edges = bundle.nodes, bundle.edges
    type_index = edges["edge_type"].replace_strict({t: i for i, t in enumerate(EDGE_TYPES)}, return_dtype=pl.Int64)
    return Data(
        x=torch.tensor(np.array(nodes["features"].to_list()), dtype=torch.float32).reshape(nodes.height, -1),
        edge_index=torch.tensor(edges.select("src", "dst").to_numpy().T.copy(), dtype=torch.long).reshape(2, -1),
        edge_type=torch.tensor(type_index.to_numpy(), dtype=torch.long),
        edge_weight=torch.tensor(edges["weight"].to_numpy(), dtype=torch.float32),
        y_log_rv=torch.tensor(nodes["target_log_rv"].fill_null(float("nan")).to_numpy(), dtype=torch.float32),
        y_return=torch.tensor(nodes["target_return"].fill_null(float("nan")).to_numpy(), dtype=torch.float32),
        num_nodes=nodes.height,
    )


def _us(t: datetime | int) -> int:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ConfigError(f"train_end {t} has no time zone; pass a UTC datetime")
        return int(t.timestamp() * 1_000_000)
    return int(t)
