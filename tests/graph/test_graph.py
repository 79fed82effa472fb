import numpy as np
import polars as pl
import pytest
from graph_window import DAYS, FIRST_DAY, INSTRUMENTS, TRAIN_END_US

from streamforge.errors import InsufficientDataError
from streamforge.graph import EDGE_TYPES, FEATURES, GraphStats, build_graph, to_pyg
from streamforge.graph.simdata import sim_window
from streamforge.sim.market import Market
from streamforge.graph.features import INTERVAL_US
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE


@pytest.fixture(scope="module")
def bundle(window):
    return build_graph(*window, train_end=TRAIN_END_US)


def _us(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("us")


def _scramble_after(frame: pl.DataFrame, time_col: str, cutoff_us: int) -> pl.DataFrame:
    """Change prices and volumes of every row at or after `cutoff_us` (a different 'future')."""
    later = _us(time_col) >= cutoff_us
    factor = pl.when(later).then(1.0 + 0.05 * (pl.int_range(pl.len()) % 7)).otherwise(1.0)
    cols = [c for c in ("open", "high", "low", "close", "vwap", "price", "volume", "qty") if c in frame.columns]
    return frame.with_columns([(pl.col(c) * factor).alias(c) for c in cols])


def test_graph_tables_match_their_records(bundle):
    assert GRAPH_NODE.conform(bundle.nodes).height == 2 * 288 * len(INSTRUMENTS)
    assert GRAPH_EDGE.conform(bundle.edges).height > 0
    assert set(bundle.edges["edge_type"].unique()) == set(EDGE_TYPES) - {"same_asset"}  # one venue: no pair of the same asset
    assert bundle.nodes["node_id"].to_list() == list(range(bundle.nodes.height))


def test_no_edge_points_from_the_future(bundle):
    times = bundle.nodes["open_time"].dt.epoch("us").to_numpy()
    e = bundle.edges
    src_t, dst_t = times[e["src"].to_numpy()], times[e["dst"].to_numpy()]
    assert (src_t <= dst_t).all()
    assert ((dst_t - src_t) // INTERVAL_US == e["offset"].to_numpy()).all()
    same_time = e.filter(pl.Series(src_t == dst_t))
    # Only a one-interval lead links two intervals that close together; temporal and similarity are strictly past.
    assert set(same_time["edge_type"].unique()) <= {"cross_asset", "same_asset"}


def test_node_features_and_edges_ignore_data_after_their_interval(window, bundle):
    cutoff = TRAIN_END_US + 6 * 3_600_000_000  # node t = the interval before the cutoff
    c5, c1, trades = window
    future = build_graph(
        _scramble_after(c5, "open_time", cutoff),
        _scramble_after(c1, "open_time", cutoff),
        _scramble_after(trades, "time", cutoff),
        train_end=TRAIN_END_US,
    )
    past = _us("open_time") < cutoff
    assert not future.nodes.equals(bundle.nodes)  # the scrambling did change the future...
    assert future.nodes.filter(past).drop("target_log_rv", "target_return").equals(
        bundle.nodes.filter(past).drop("target_log_rv", "target_return")
    )  # ...but no feature of an earlier node
    before = _us("time") < cutoff
    assert future.edges.filter(before).equals(bundle.edges.filter(before))
    assert future.stats.to_dict() == bundle.stats.to_dict()  # statistics come from the training part only


def test_lead_lag_edges_follow_the_planted_leader(bundle, control_window):
    pairs = {(r["leader"], r["follower"], r["lag"]) for r in bundle.stats.lead_lag.iter_rows(named=True)}
    assert {("binance.spot.BTCUSDT", "binance.spot.ETHUSDT", 1), ("binance.spot.BTCUSDT", "binance.spot.SOLUSDT", 2)} <= pairs
    assert not any(follower == "binance.spot.BTCUSDT" for _, follower, _ in pairs)
    control = build_graph(*control_window, train_end=TRAIN_END_US)
    assert control.stats.lead_lag.filter(pl.col("leader") == "binance.spot.BTCUSDT").is_empty()


def test_without_trades_the_trade_features_are_absent(window):
    c5, c1, _ = window
    bundle = build_graph(c5, c1, train_end=TRAIN_END_US)
    assert bundle.stats.absent_features == ("large_trade_share",)
    assert bundle.stats.feature_set.names == tuple(n for n in FEATURES.names if n != "large_trade_share")
    assert len(bundle.nodes["features"][0]) == len(FEATURES.names) - 1


def test_a_requested_instrument_without_candles_is_named(window):
    with pytest.raises(InsufficientDataError, match="binance.spot.XRPUSDT"):
        build_graph(*window, train_end=TRAIN_END_US, instruments=[*INSTRUMENTS, "binance.spot.XRPUSDT"])


def test_a_instrument_without_training_data_is_named(window):
    c5, c1, trades = window
    late = (_us("open_time") >= TRAIN_END_US) | (pl.col("instrument") != "binance.spot.SOLUSDT")
    with pytest.raises(InsufficientDataError, match="binance.spot.SOLUSDT"):
        build_graph(c5.filter(late), c1.filter(late), trades, train_end=TRAIN_END_US)


def test_zero_volatility_is_refused_not_turned_into_nan(window):
    c5, c1, _ = window
    flat = [pl.lit(100.0).alias(c) for c in ("open", "high", "low", "close", "vwap")]
    eth = pl.col("instrument") == "binance.spot.ETHUSDT"
    with pytest.raises(InsufficientDataError, match="binance.spot.ETHUSDT.*constant"):
        build_graph(
            pl.concat([c5.filter(~eth), c5.filter(eth).with_columns(flat)]),
            pl.concat([c1.filter(~eth), c1.filter(eth).with_columns(flat)]),
            train_end=TRAIN_END_US,
        )


def test_to_pyg_carries_typed_weighted_edges_and_targets(bundle):
    data = to_pyg(bundle)
    assert data.x.shape == (bundle.nodes.height, len(FEATURES.names))
    assert data.edge_index.shape == (2, bundle.edges.height)
    assert set(data.edge_type.unique().tolist()) == {0, 1, 2}
    assert np.isfinite(data.x.numpy()).all()
    assert int(data.y_log_rv.isnan().sum()) == len(INSTRUMENTS)  # only each instrument's last interval lacks a next one


def test_an_interval_without_price_change_gets_the_training_floor_not_an_outlier(window, bundle):
    """The floor is the 1% quantile of the instrument's positive training RVs: a flat interval counts as quiet as the
    quietest ones that moved (log RV near -17 here), not as log(1e-10) = -23, and nothing falls below it."""
    c5, c1, trades = window
    eth, t = pl.col("instrument") == "binance.spot.ETHUSDT", _us("open_time")
    flat_from = TRAIN_END_US + 3 * 3_600_000_000  # one flat half hour, after the end of training
    flat = eth & (t >= flat_from) & (t < flat_from + 6 * INTERVAL_US)
    before = c1.filter(eth & (t < flat_from))["close"][-1]
    c1_flat = c1.with_columns([pl.when(flat).then(before).otherwise(pl.col(c)).alias(c) for c in ("open", "high", "low", "close", "vwap")])
    flattened = build_graph(c5, c1_flat, trades, train_end=TRAIN_END_US)
    floor = flattened.stats.rv_floor.floors["binance.spot.ETHUSDT"]
    assert flattened.stats.rv_floor.to_dict() == bundle.stats.rv_floor.to_dict()  # fitted on training data only
    raw_rv = np.exp(bundle.nodes.filter(eth & (t < TRAIN_END_US))["log_rv"].to_numpy())
    assert 0.005 < np.mean(raw_rv <= floor * (1 + 1e-9)) < 0.03  # about 1% of training intervals sit at the floor
    nodes = flattened.nodes.filter(eth)
    flat_log_rv = nodes.filter((_us("open_time") >= flat_from + INTERVAL_US) & (_us("open_time") < flat_from + 6 * INTERVAL_US))["log_rv"]
    assert flat_log_rv.to_list() == pytest.approx([np.log(floor)] * 5)
    assert nodes["log_rv"].min() == pytest.approx(np.log(floor)) and np.log(floor) > -20


def test_the_same_asset_on_two_venues_is_linked_both_ways_in_the_same_interval(window):
    okx = "okx.spot.BTC-USDT"
    c5, c1, _ = window
    extra5, extra1, _ = sim_window(Market(7, volume=0.01), [okx], FIRST_DAY, DAYS)
    pair = ("binance.spot.BTCUSDT", okx)
    bundle = build_graph(pl.concat([c5, extra5]), pl.concat([c1, extra1]), train_end=TRAIN_END_US, venue_pairs=[pair])
    linked = bundle.stats.venue_pairs
    assert set(zip(linked["leader"], linked["follower"])) == {pair, pair[::-1]} and (linked["rho"] > 0.9).all()
    edges = bundle.edges.filter(pl.col("edge_type") == "same_asset")
    assert edges.height == 2 * 2 * 288 and (edges["offset"] == 0).all()
    nodes = bundle.nodes.select("node_id", "instrument", "open_time")
    ends = edges.join(nodes, left_on="src", right_on="node_id").join(nodes, left_on="dst", right_on="node_id", suffix="_dst")
    assert (ends["open_time"] == ends["open_time_dst"]).all() and (ends["instrument"] != ends["instrument_dst"]).all()
    assert GraphStats.from_dict(bundle.stats.to_dict()).venue_pairs.equals(linked)
    older = {k: v for k, v in bundle.stats.to_dict().items() if k != "venue_pairs"}  # saved before same_asset edges
    assert GraphStats.from_dict(older).venue_pairs.is_empty()
