"""The store contract, run against every backend (see conftest: ArangoDB only when a server is configured)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import polars as pl
import pytest

from streamforge.candles import aggregate
from streamforge.errors import ConfigError, SchemaError, StoreError
from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.store import EmbeddedStore, PartitionInfo, open_store
from streamforge.store.base import Merged
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


def test_reads_select_instruments_and_an_inclusive_day_range(store, collection):
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
    with pytest.raises(StoreError, match="is not an instrument"):
        store.replace_partition("trades", AGG_TRADE, "okx spot", D1, AGG_TRADE.empty())


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


def test_partition_names_may_be_instrument_ids_with_dots_and_dashes(store, collection):
    names = ["binance.spot.BTCUSDT", "binance.usdm.BTCUSDT", "okx.swap.BTC-USDT-SWAP"]
    frames = {name: agg_trades(name, D1, 5 + i, seed=i) for i, name in enumerate(names)}
    for name, frame in frames.items():
        store.replace_partition(collection, AGG_TRADE, name, D1, frame)
    store.replace_partition(collection, AGG_TRADE, names[0], D2, agg_trades(names[0], D2, 3))
    assert store.partitions(collection) == [
        PartitionInfo(names[0], D1, 5), PartitionInfo(names[0], D2, 3), PartitionInfo(names[1], D1, 6),
        PartitionInfo(names[2], D1, 7),
    ]
    assert store.read(collection, AGG_TRADE, instruments=[names[2]]).equals(frames[names[2]])
    assert store.delete_partition(collection, names[1], D1) == 6
    assert store.read(collection, AGG_TRADE, end=D1).equals(pl.concat([frames[names[0]], frames[names[2]]]))


def test_a_partition_of_many_import_batches_and_cursor_pages_reads_back_equal(store, collection):
    """170,001 rows: more than one import request and one cursor page (ArangoDB: 18 blocks, 8 per request/page)."""
    trades = agg_trades("binance.spot.BTCUSDT", D1, 170_001)
    assert store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades) == 170_001
    assert store.read(collection, AGG_TRADE).equals(trades)
    smaller = agg_trades("binance.spot.BTCUSDT", D1, 12_345, seed=3)
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, smaller)
    assert store.read(collection, AGG_TRADE).equals(smaller)
    assert store.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D1, 12_345)]


def test_merging_adds_the_rows_not_stored_yet_and_keeps_the_stored_ones(store, collection):
    day = agg_trades("binance.spot.BTCUSDT", D1, 30)
    assert store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, day[:20]) == Merged(20, 20)
    overlap = pl.concat([day[20:], day[10:20].with_columns(price=pl.lit(1.0)), day[25:].with_columns(price=pl.lit(2.0))])
    assert store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, overlap) == Merged(10, 30)
    assert store.read(collection, AGG_TRADE).equals(day)  # stored rows keep their prices, and a key's first row wins
    assert store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, overlap) == Merged(0, 30)
    assert store.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D1, 30)]


def test_merges_over_many_blocks_read_back_as_one_sorted_partition(store, collection):
    day = agg_trades("binance.spot.BTCUSDT", D1, 45_000)
    for lo, hi in ((20_000, 35_000), (0, 25_000), (30_000, 45_000)):
        store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, day[lo:hi].reverse())
    assert store.read(collection, AGG_TRADE).equals(day)
    assert store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, day) == Merged(0, 45_000)


def test_merging_nothing_into_no_partition_leaves_none(store, collection):
    assert store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, AGG_TRADE.empty()) == Merged(0, 0)
    assert store.partitions(collection) == []


def test_two_writers_of_one_partition_at_once_leave_exactly_their_rows(store, collection):
    """The second writer waits for the first (a lock file, an ArangoDB lease); neither removes the other's rows."""
    trades = agg_trades("binance.spot.BTCUSDT", D1, 60_000)
    with ThreadPoolExecutor(2) as pool:
        written = list(pool.map(lambda _: store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades), [1, 2]))
    assert written == [60_000, 60_000]
    assert store.read(collection, AGG_TRADE).equals(trades)
    assert store.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D1, 60_000)]


def test_whole_number_doubles_read_back_as_doubles(store, collection):
    """ArangoDB answers 100.0 as the JSON integer 100; every read goes through the record's schema."""
    trades = agg_trades("binance.spot.BTCUSDT", D1, 50).with_columns(price=pl.col("price").round(0), qty=pl.lit(2.0))
    store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    got = store.read(collection, AGG_TRADE)
    assert got.schema == AGG_TRADE.polars and got.equals(trades)


def test_listings_sort_by_code_point(store, collection):
    names = ["b.spot.B", "b.spot.A-B", "a.spot.B", "b.spot.AB", "b.spot.A-1", "bb.spot.Z9"]
    for name in names:
        store.replace_partition(collection, AGG_TRADE, name, D1, agg_trades(name, D1, 1))
    assert [p.instrument for p in store.partitions(collection)] == sorted(names)
    keys = ["b", "B", "é", "a_b", "a-b", "Ä", "_"]
    store.put_documents(collection, [{"id": k, "n": i} for i, k in enumerate(keys)], key_field="id")
    assert [d["id"] for d in store.get_documents(collection)] == sorted(keys)


def test_document_keys_may_hold_any_characters(store, collection):
    keys = ["BTCUSDT->ETHUSDT", "a/b c?d#e", "%41", "!41", "A", "späť ≈ ✓", "x" * 300, "x" * 301, ""]
    store.put_documents(collection, [{"id": k, "len": len(k)} for k in keys], key_field="id")
    assert store.get_documents(collection) == [{"id": k, "len": len(k)} for k in sorted(keys)]
    assert store.get_documents(collection, {"id": "A"}) == [{"id": "A", "len": 1}]


def test_non_finite_floats_are_refused_naming_the_column_and_the_old_content_kept(offline_store, collection):
    """The same policy in both backends, decided before anything is sent (the ArangoDB store here has no server)."""
    trades = agg_trades("binance.spot.BTCUSDT", D1, 10)
    for bad in (float("nan"), float("inf"), float("-inf")):
        broken = trades.with_columns(qty=pl.when(pl.col("agg_id") == 3).then(bad).otherwise(pl.col("qty")))
        with pytest.raises(StoreError, match="column 'qty' holds 1 NaN or infinite"):
            offline_store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, broken)
        with pytest.raises(StoreError, match="column 'qty'"):
            offline_store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, broken)
    with pytest.raises(StoreError, match=r"document 'm1' of collection 'models': field metrics\.test\[1\] is NaN"):
        offline_store.put_documents("models", [{"id": "m1", "metrics": {"test": [0.5, float("nan")]}}], key_field="id")


def test_validation_comes_before_any_request_in_both_backends(offline_store, collection):
    trades = agg_trades("binance.spot.BTCUSDT", D1, 10)
    with pytest.raises(StoreError, match="do not belong to partition binance.spot.BTCUSDT 2025-01-02"):
        offline_store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D2, trades)
    with pytest.raises(StoreError, match="is not an instrument"):
        offline_store.merge_partition(collection, AGG_TRADE, "binance.spot.BTC/USDT", D1, trades)
    with pytest.raises(StoreError, match="collection name"):
        offline_store.replace_partition("../etc", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
