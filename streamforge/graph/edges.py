"""Typed edges of the market graph. Every edge goes from a node whose interval has closed no later than its
destination's, so a node's neighbourhood is known when its own interval closes: message passing cannot look ahead.

- temporal: the same instrument k intervals earlier (k = 1..K) — volatility persistence.
- cross_asset: another instrument that leads this one. The lead-lag correlation rho(leader return at t - lag, follower
  return at t) is estimated on the training part only, for lags 1..L, with a HAC t-statistic; the pairs kept survive
  a multiple-testing correction over all pairs x lags (`estimate_lead_lag`).
  Node (follower, t) forecasts the follower's interval t+1, which the leader announced at t+1-lag, so the edge runs
  from (leader, t+1-lag) to (follower, t): offset lag-1 intervals, 0 for a one-interval lead (both closed at once).
- similarity: the k nearest strictly earlier intervals of the same instrument within a window, in normalised feature
  space — "what happened after situations like this one".
- same_asset: the same asset on another venue in the same interval (both close at once), both ways, weighted by the
  correlation of their 5-minute returns on the training part: what one venue did is news for the other. Which
  instruments are the same asset comes from the stored cross-venue view (`streamforge.cross_venue`).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import ndtr

from streamforge.errors import ConfigError
from streamforge.graph.features import INTERVAL, INTERVAL_US
from streamforge.schemas import INSTRUMENT
from streamforge.schemas import GRAPH_EDGE
from streamforge.stattests import benjamini_hochberg, hac_variance_of_mean, holm

EDGE_TYPES = ("temporal", "cross_asset", "similarity", "same_asset")  # appended: saved models index by position
LEAD_LAG_SCHEMA = {
    "leader": pl.String, "follower": pl.String, "lag": pl.Int64, "rho": pl.Float64, "n": pl.Int64,
    "z": pl.Float64, "p_value": pl.Float64,
}
CORRECTIONS = {"bh": benjamini_hochberg, "holm": holm}


def temporal_edges(nodes: pl.DataFrame, k: int) -> pl.DataFrame:
    """`nodes`: node_id, instrument, open_time."""
    parts = [
        _shifted(group, group, offset, "temporal", 1.0)
        for _, group in nodes.group_by("instrument", maintain_order=True)
        for offset in range(1, k + 1)
    ]
    return pl.concat(parts) if parts else GRAPH_EDGE.empty()


def estimate_lead_lag(
    raw: pl.DataFrame, train_end_us: int, max_lag: int, level: float, correction: str, max_pairs: int = 0
) -> pl.DataFrame:
    """Significant lead-lag pairs over the training part: leader, follower, lag, rho, n, z, p_value.

    Every (leader, follower, lag) with lag 1..max_lag is tested: rho is the mean product of the two standardised
    returns (the correlation), z its HAC t-statistic (Newey–West: co-moving volatilities make the products
    heteroskedastic, so |rho| * sqrt(n) overstates the evidence), p two-sided. The pairs kept are those the
    multiple-testing `correction` rejects over all pairs x lags at `level`: 'bh' (Benjamini–Hochberg, false
    discovery rate) or 'holm' (family-wise error rate). With `max_pairs` > 0 a follower keeps only its that many
    strongest pairs by |z|: on a universe, followers of one leader lead each other too, and every pair is an edge
    per interval, so the graph would grow with the square of the instruments.
    """
    if correction not in CORRECTIONS:
        raise ConfigError(f"lead-lag correction {correction!r} is unknown; use one of {sorted(CORRECTIONS)}")
    returns = (
        raw.filter(pl.col("open_time").dt.epoch("us") < train_end_us)
        .pivot(INSTRUMENT, index="open_time", values="log_return")
        .sort("open_time")
        .upsample("open_time", every=INTERVAL)  # a missing interval is a gap, not a shorter lag
    )
    names = sorted(c for c in returns.columns if c != "open_time")
    values = returns.select(names).to_numpy().astype(np.float64)
    rows = []
    for lag in range(1, max_lag + 1):
        if len(values) <= lag + 2:
            break
        lead, follow = values[:-lag], values[lag:]
        for i, leader in enumerate(names):
            a = lead[:, [i]]
            valid = np.isfinite(a) & np.isfinite(follow)
            n = valid.sum(axis=0)
            za, zb = _standardised(np.broadcast_to(a, follow.shape), valid), _standardised(follow, valid)
            products = za * zb
            rho = np.where(valid, products, 0.0).sum(axis=0) / np.maximum(n, 1)
            se = np.sqrt(hac_variance_of_mean(products, valid))
            for j, follower in enumerate(names):
                if j == i or n[j] < 3 or se[j] == 0 or not np.isfinite(se[j]):
                    continue
                z = rho[j] / se[j]
                rows.append((leader, follower, lag, float(rho[j]), int(n[j]), float(z), float(2 * ndtr(-abs(z)))))
    tested = pl.DataFrame(rows, schema=LEAD_LAG_SCHEMA, orient="row")
    keep = CORRECTIONS[correction](tested["p_value"].to_numpy(), level)
    kept = tested.filter(pl.Series(keep, dtype=pl.Boolean))
    if max_pairs > 0:
        kept = kept.sort(pl.col("z").abs(), descending=True).group_by("follower", maintain_order=True).head(max_pairs)
    return kept.sort("follower", "leader", "lag")


def _standardised(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    n = np.maximum(valid.sum(axis=0), 1)
    mean = np.where(valid, x, 0.0).sum(axis=0) / n
    sd = np.sqrt(np.where(valid, (x - mean) ** 2, 0.0).sum(axis=0) / n)
    return np.where(valid & (sd > 0), (x - mean) / np.where(sd > 0, sd, 1.0), 0.0)


def cross_asset_edges(nodes: pl.DataFrame, lead_lag: pl.DataFrame, edge_type: str = "cross_asset") -> pl.DataFrame:
    """Edges of each (leader, follower, lag, rho) pair, offset lag - 1 (see the module docstring)."""
    parts = [
        _shifted(
            nodes.filter(pl.col("instrument") == pair["leader"]),
            nodes.filter(pl.col("instrument") == pair["follower"]),
            pair["lag"] - 1,
            edge_type,
            pair["rho"],
        )
        for pair in lead_lag.iter_rows(named=True)
    ]
    return pl.concat(parts) if parts else GRAPH_EDGE.empty()


def estimate_venue_pairs(raw: pl.DataFrame, train_end_us: int, pairs: list[tuple[str, str]]) -> pl.DataFrame:
    """Both directions of each pair of the same asset on two venues, with the correlation of their 5-minute returns
    over the training part; lag 1 so that `cross_asset_edges` links the same interval (offset 0). No test is made:
    the venues say they are one asset (z and p_value stay null)."""
    train = raw.filter(pl.col("open_time").dt.epoch("us") < train_end_us).select("instrument", "open_time", "log_return")
    rows = []
    for a, b in pairs:
        joined = train.filter(pl.col("instrument") == a).join(train.filter(pl.col("instrument") == b), on="open_time", suffix="_b")
        x, y = joined["log_return"].to_numpy(), joined["log_return_b"].to_numpy()
        if joined.height < 3 or x.std() == 0 or y.std() == 0:
            continue
        rho = float(np.corrcoef(x, y)[0, 1])
        rows += [{"leader": s, "follower": d, "lag": 1, "rho": rho, "n": joined.height, "z": None, "p_value": None}
                 for s, d in ((a, b), (b, a))]
    return pl.DataFrame(rows, schema=LEAD_LAG_SCHEMA)


def similarity_edges(nodes: pl.DataFrame, x: np.ndarray, k: int, window: int) -> pl.DataFrame:
    """`x[node_id]` are the normalised features. Candidates of a node are the `window` previous intervals of its
    instrument (strictly earlier); the k nearest by Euclidean distance send an edge weighted 1 / (1 + distance)."""
    parts = []
    for _, group in nodes.sort("open_time").group_by("instrument", maintain_order=True):
        ids = group["node_id"].to_numpy()
        times = group["open_time"].dt.epoch("us").to_numpy()
        feats = x[ids]
        n, w = len(ids), min(window, len(ids) - 1)
        if w < 1:
            continue
        dist = np.full((n, w), np.inf)
        for j in range(1, w + 1):  # candidate j positions back
            dist[j:, j - 1] = np.sqrt(((feats[j:] - feats[:-j]) ** 2).sum(axis=1))
        kk = min(k, w)
        back = np.argpartition(dist, kk - 1, axis=1)[:, :kk] + 1
        rows = np.repeat(np.arange(n), kk)
        src_pos = rows - back.ravel()
        d = dist[rows, back.ravel() - 1]
        ok = np.isfinite(d)
        rows, src_pos, d = rows[ok], src_pos[ok], d[ok]
        parts.append(
            pl.DataFrame(
                {
                    "src": ids[src_pos],
                    "dst": ids[rows],
                    "edge_type": "similarity",
                    "weight": 1.0 / (1.0 + d),
                    "offset": ((times[rows] - times[src_pos]) // INTERVAL_US).astype(np.int32),
                    "time": times[rows],
                }
            ).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))
        )
    return GRAPH_EDGE.conform(pl.concat(parts)) if parts else GRAPH_EDGE.empty()


def _shifted(sources: pl.DataFrame, targets: pl.DataFrame, offset: int, edge_type: str, weight: float) -> pl.DataFrame:
    """Edges from each node of `sources` (one instrument) to the node of `targets` (one instrument) `offset` intervals later."""
    src = sources.select(
        pl.col("node_id").alias("src"),
        (pl.col("open_time") + pl.duration(microseconds=offset * INTERVAL_US)).alias("time"),
    )
    joined = targets.select(pl.col("node_id").alias("dst"), pl.col("open_time").alias("time")).join(src, on="time")
    return GRAPH_EDGE.conform(
        joined.select(
            "src",
            "dst",
            pl.lit(edge_type).alias("edge_type"),
            pl.lit(float(weight)).alias("weight"),
            pl.lit(offset, dtype=pl.Int32).alias("offset"),
            "time",
        )
    )
