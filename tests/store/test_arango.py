"""ArangoDB specifics. The document mapping is tested always; tests using ``arango_store`` need a real server
(STREAMFORGE_ARANGO_URL) and skip without one. The behaviour shared with the embedded store is in
test_store_contract.py, where the same tests run on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from arango.aql import AQL

from streamforge.candles import aggregate
from streamforge.errors import StoreError
from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.store.arango import from_documents, to_documents
from store_frames import agg_trades

D1 = date(2025, 1, 1)


def test_document_keys_come_from_the_record_key_and_times_are_integer_microseconds():
    trades = agg_trades("BTCUSDT", D1, 3, first_id=123456)
    docs = to_documents(AGG_TRADE, trades, D1, "w1")
    assert [d["_key"] for d in docs] == ["BTCUSDT:123456", "BTCUSDT:123457", "BTCUSDT:123458"]
    assert isinstance(docs[0]["time"], int) and docs[0]["sf_day"] == "2025-01-01"
    candle = to_documents(CANDLE, aggregate(trades, "5m", D1).head(1), D1, "w1")[0]
    assert candle["_key"] == "BTCUSDT:5m:1735689600000000"


def test_documents_convert_back_to_the_same_frame():
    candles = aggregate(agg_trades("BTCUSDT", D1, 100), "1m", D1)
    docs = [{k: v for k, v in d.items() if k not in ("_key", "sf_day", "sf_write")} for d in to_documents(CANDLE, candles, D1, "w")]
    assert from_documents(CANDLE, docs).equals(candles)


@pytest.mark.arango
def test_collections_get_the_partition_indexes(arango_store, collection):
    arango_store.replace_partition(collection, AGG_TRADE, "BTCUSDT", D1, agg_trades("BTCUSDT", D1, 5))
    fields = [i["fields"] for i in arango_store.db.collection(collection).indexes() if i["type"] == "persistent"]
    assert ["instrument", "time"] in fields and ["instrument", "sf_day"] in fields


@pytest.mark.arango
def test_rewrites_replace_documents_in_place(arango_store, collection):
    trades = agg_trades("BTCUSDT", D1, 50, first_id=1000)
    for _ in range(3):
        arango_store.replace_partition(collection, AGG_TRADE, "BTCUSDT", D1, trades)
    coll = arango_store.db.collection(collection)
    assert coll.count() == 50
    assert coll.get("BTCUSDT:1000")["time"] == trades["time"].dt.epoch("us")[0]


@pytest.mark.arango
def test_a_replace_interrupted_after_the_import_keeps_every_row(arango_store, collection, monkeypatch):
    """The import runs first, so a crash before the clean-up leaves old and new rows — never a partition short of
    either; the next replace removes the leftovers."""
    old, new = agg_trades("BTCUSDT", D1, 40, first_id=1), agg_trades("BTCUSDT", D1, 30, seed=1, first_id=21)
    arango_store.replace_partition(collection, AGG_TRADE, "BTCUSDT", D1, old)

    def crash(*args, **kwargs):
        raise StoreError("killed before the clean-up")

    with monkeypatch.context() as m:
        m.setattr(AQL, "execute", crash)
        with pytest.raises(StoreError):
            arango_store.replace_partition(collection, AGG_TRADE, "BTCUSDT", D1, new)
    assert arango_store.db.collection(collection).count() == 50  # ids 1..50: old 1..20 kept, 21..50 new
    arango_store.replace_partition(collection, AGG_TRADE, "BTCUSDT", D1, new)
    assert arango_store.read(collection, AGG_TRADE).equals(new)
