"""The store contract, run against every backend (see conftest: ArangoDB only when a server is configured)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from streamforge.candles import aggregate
from streamforge.errors import ConfigError, SchemaError, StoreError
from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.store import EmbeddedStore, PartitionInfo, open_store
from store_frames import agg_trades

D1, D2, D3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


def test_a_partition_reads_back_equal_and_sorted_by_key(store, collection):
    trades = agg_trades("binance.spot.BTCUSDT", D1, 500)
    assert store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades.reverse()) == 500
    assert store.read(collection, AGG_TRADE).equals(trades)


def test_replacing_a_partition_drops_rows_the_new_content_lacks(store, collection):
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 300))
    smaller = agg_trades("binance.spot.BTCUSDT", D1, 100, seed=1, first_id=50)
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, smaller)
    assert store.read(collection, AGG_TRADE).equals(smaller)
    assert store.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D1, 100)]


def test_rewriting_the_same_content_changes_nothing(store, collection):
    trades = agg_trades("binance.spot.BTCUSDT", D1, 200)
    for _ in range(2):
        store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    assert store.read(collection, AGG_TRADE).equals(trades)


def test_partitions_are_listed_with_their_row_counts(store, collection):
    for instrument, day, n in [("binance.spot.ETHUSDT", D1, 3), ("binance.spot.BTCUSDT", D2, 5), ("binance.spot.BTCUSDT", D1, 4)]:
        store.replace_partition(collection, AGG_TRADE, instrument, day, agg_trades(instrument, day, n))
    assert store.partitions(collection) == [
        PartitionInfo("binance.spot.BTCUSDT", D1, 4),
        PartitionInfo("binance.spot.BTCUSDT", D2, 5),
        PartitionInfo("binance.spot.ETHUSDT", D1, 3),
    ]
    assert collection in store.collections()


def test_reads_select_symbols_and_an_inclusive_day_range(store, collection):
    frames = {}
    for instrument in ("binance.spot.BTCUSDT", "binance.spot.ETHUSDT"):
        for i, day in enumerate((D1, D2, D3)):
            frames[instrument, day] = agg_trades(instrument, day, 10, seed=i, first_id=1 + 10 * i)
            store.replace_partition(collection, AGG_TRADE, instrument, day, frames[instrument, day])
    got = store.read(collection, AGG_TRADE, instruments=["binance.spot.ETHUSDT"], start=D2, end=D3)
    assert got.equals(pl.concat([frames["binance.spot.ETHUSDT", D2], frames["binance.spot.ETHUSDT", D3]]))
    assert store.read(collection, AGG_TRADE, end=D1).height == 20
    assert store.read(collection, AGG_TRADE, start=D3).height == 20


def test_candles_round_trip_with_their_own_key(store, collection):
    candles = aggregate(agg_trades("binance.spot.BTCUSDT", D1, 1000), "5m", D1)
    store.replace_partition(collection, CANDLE, "binance.spot.BTCUSDT", D1, candles.sample(fraction=1.0, shuffle=True, seed=2))
    assert store.read(collection, CANDLE).equals(candles)


def test_deleting_a_partition_removes_it_and_says_how_many_rows(store, collection):
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 7))
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D2, agg_trades("binance.spot.BTCUSDT", D2, 8))
    assert store.delete_partition(collection, "binance.spot.BTCUSDT", D1) == 7
    assert store.delete_partition(collection, "binance.spot.BTCUSDT", D1) == 0
    assert store.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D2, 8)]


def test_an_empty_frame_leaves_no_partition(store, collection):
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 7))
    assert store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, AGG_TRADE.empty()) == 0
    assert store.partitions(collection) == []


def test_an_unknown_collection_reads_as_empty(store, collection):
    assert store.read(collection, AGG_TRADE).equals(AGG_TRADE.empty())
    assert store.partitions(collection) == []
    assert store.get_documents(collection) == []


def test_rows_of_another_partition_are_refused_and_the_old_content_kept(store, collection):
    trades = agg_trades("binance.spot.BTCUSDT", D1, 10)
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    with pytest.raises(StoreError, match="do not belong to partition binance.spot.BTCUSDT 2025-01-02"):
        store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D2, trades)
    with pytest.raises(StoreError, match="binance.spot.ETHUSDT"):
        store.replace_partition(collection, AGG_TRADE, "binance.spot.ETHUSDT", D1, trades)
    with pytest.raises(SchemaError, match="missing columns"):
        store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades.drop("qty"))
    assert store.read(collection, AGG_TRADE).equals(trades)


def test_unsafe_names_are_refused(store):
    with pytest.raises(StoreError, match="collection name"):
        store.read("../etc", AGG_TRADE)
    with pytest.raises(StoreError, match="instrument"):
        store.replace_partition("trades", AGG_TRADE, "../BTC", D1, AGG_TRADE.empty())


def test_documents_are_put_by_key_replaced_and_filtered(store, collection):
    edges = [
        {"id": "BTCUSDT->ETHUSDT", "source": "binance.spot.BTCUSDT", "target": "binance.spot.ETHUSDT", "lag_min": 3},
        {"id": "BTCUSDT->SOLUSDT", "source": "binance.spot.BTCUSDT", "target": "binance.spot.SOLUSDT", "lag_min": 5},
        {"id": "ETHUSDT->SOLUSDT", "source": "binance.spot.ETHUSDT", "target": "binance.spot.SOLUSDT", "lag_min": 1},
    ]
    assert store.put_documents(collection, edges, key_field="id") == 3
    store.put_documents(collection, [{**edges[0], "lag_min": 4}], key_field="id")
    assert store.get_documents(collection, {"source": "binance.spot.BTCUSDT"}) == [{**edges[0], "lag_min": 4}, edges[1]]
    assert store.get_documents(collection, {"source": "binance.spot.BTCUSDT", "lag_min": 5}) == [edges[1]]
    assert len(store.get_documents(collection)) == 3


def test_open_store_follows_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("STREAMFORGE_HOME", str(tmp_path))
    monkeypatch.setenv("STREAMFORGE_STORE", "embedded")
    store = open_store()
    assert isinstance(store, EmbeddedStore) and store.root == tmp_path / "store"
    monkeypatch.setenv("STREAMFORGE_STORE", "arangodb")
    monkeypatch.setenv("STREAMFORGE_ARANGO_URL", "")
    with pytest.raises(StoreError, match="STREAMFORGE_ARANGO_URL"):
        open_store()
    monkeypatch.setenv("STREAMFORGE_STORE", "postgres")
    with pytest.raises(ConfigError, match="postgres"):
        open_store()
