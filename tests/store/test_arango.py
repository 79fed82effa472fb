"""ArangoDB specifics. Everything that does not need a server runs always: key encoding, the block documents and
their JSON, request batching, the AQL and its bind variables, the lease decisions, error mapping and a refused
connection on loopback. Tests using ``arango_server``/``arango_store`` need a real server (STREAMFORGE_ARANGO_URL)
and skip without one. The behaviour shared with the embedded store is in test_store_contract.py."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import signal
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import polars as pl
import pytest
import requests
from arango import ArangoClient
from arango.collection import StandardCollection
from arango.errno import DATABASE_NOT_FOUND
from arango.exceptions import ServerConnectionError
from arango.executor import DefaultApiExecutor
from arango.request import Request
from arango.response import Response
from hypothesis import given
from hypothesis import strategies as st

from streamforge.candles import aggregate
from streamforge.errors import StoreError
from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.store.arango import ArangoStore, aql
from streamforge.store.arango.documents import (
    BLOCK_ROWS,
    KEY_BYTES,
    block_documents,
    blocks_frame,
    decode_blocks,
    document_key,
    dumps,
    head_key,
    loads,
)
from streamforge.store.arango.lease import Decision, Lease, decide, poll_delay
from streamforge.store.arango.errors import store_error
from streamforge.store.arango.store import BLOCKS_PER_REQUEST, _add_index, batched
from streamforge.store.base import PartitionInfo
from store_frames import agg_trades

D1, D2 = date(2025, 1, 1), date(2025, 1, 2)
LEGAL_KEY = re.compile(r"[A-Za-z0-9_\-:.@()+,=;$!*'%]{1,254}")  # ArangoDB's key alphabet and length


# --- keys


@given(st.lists(st.text(), unique=True, max_size=20))
def test_document_keys_are_legal_short_and_distinct_for_any_caller_keys(keys):
    encoded = [document_key(k) for k in keys]
    assert all(LEGAL_KEY.fullmatch(e) and len(e.encode()) <= KEY_BYTES for e in encoded)
    assert len(set(encoded)) == len(keys)


def test_legal_keys_stay_readable_and_others_are_escaped_or_hashed():
    assert document_key("BTCUSDT:5m:2025-01-01") == "BTCUSDT:5m:2025-01-01"
    assert document_key("BTCUSDT->ETHUSDT") == "BTCUSDT-!3EETHUSDT"
    assert document_key("100%") == "100!25" and document_key("!") == "!21"  # '%' would need escaping in URLs
    long = document_key("é" * 200)
    assert len(long) == KEY_BYTES and "!!" in long and long != document_key("é" * 201)


def test_partition_heads_and_blocks_of_instrument_ids_have_legal_distinct_keys():
    names = ["binance.spot.BTCUSDT", "okx.swap.BTC-USDT-SWAP", "A" * 64]
    heads = {head_key(c, n, d) for c in ("trades", "c" * 64) for n in names for d in (D1, D2)}
    assert len(heads) == 12 and all(LEGAL_KEY.fullmatch(h) for h in heads)
    blocks = [
        b["_key"] for n in names for d in (D1, D2) for b in block_documents(AGG_TRADE, agg_trades(n, d, 1), n, d, "f" * 32)
    ]
    assert len(set(blocks)) == 6 and all(LEGAL_KEY.fullmatch(k) for k in blocks)


# --- blocks and their JSON


def test_a_partition_becomes_blocks_of_columns_with_integer_microsecond_times():
    trades = agg_trades("binance.spot.BTCUSDT", D1, 2 * BLOCK_ROWS + 5, first_id=123456)
    blocks = list(block_documents(AGG_TRADE, trades, "binance.spot.BTCUSDT", D1, "w1", first_seq=3))
    assert [(b["seq"], b["rows"]) for b in blocks] == [(3, BLOCK_ROWS), (4, BLOCK_ROWS), (5, 5)]
    first = blocks[0]
    assert first["_key"] == "binance.spot.BTCUSDT:2025-01-01:w1:3"
    assert (first["instrument"], first["day"], first["write"]) == ("binance.spot.BTCUSDT", "2025-01-01", "w1")
    assert "instrument" not in first["columns"]  # once per block, not once per row
    assert list(first["columns"]["agg_id"][:2]) == [123456, 123457]
    assert first["columns"]["time"][0] == trades["time"].dt.epoch("us")[0]


def answered(blocks: list[dict]) -> list[dict]:
    """Blocks as the blocks query returns them, through our JSON both ways."""
    return [loads(dumps({k: b[k] for k in ("instrument", "day", "rows", "columns")})) for b in blocks]


def test_blocks_read_back_into_the_same_frame_candles_included():
    trades = agg_trades("binance.spot.BTCUSDT", D1, 25_000)
    assert blocks_frame(AGG_TRADE, answered(list(block_documents(AGG_TRADE, trades, "binance.spot.BTCUSDT", D1, "w")))).equals(trades)
    candles = aggregate(trades, "5m", D1)
    blocks = answered(list(block_documents(CANDLE, candles, "binance.spot.BTCUSDT", D1, "w")))
    assert blocks_frame(CANDLE, blocks).equals(candles)
    keys = [{**b, "columns": {k: b["columns"][k] for k in ("interval", "open_time")}} for b in blocks]
    assert blocks_frame(CANDLE, keys, ["interval", "open_time"]).equals(candles.select("interval", "open_time"))


def test_many_small_blocks_of_several_partitions_decode_into_frames_as_they_arrive():
    """Blocks as many merges leave them (a few rows each), from two partitions, read in one go."""
    days = {name: agg_trades(name, D1, 95_000, seed=i) for i, name in enumerate(["binance.spot.BTCUSDT", "ETHUSDT"])}
    blocks = [
        block
        for name, day in days.items()
        for seq, offset in enumerate(range(0, day.height, 950))
        for block in block_documents(AGG_TRADE, day.slice(offset, 950), name, D1, "w", seq)
    ]
    frame, rows = decode_blocks(AGG_TRADE, iter(answered(blocks)))
    assert frame.sort(list(AGG_TRADE.key)).equals(pl.concat(days.values()).sort(list(AGG_TRADE.key)))
    assert rows == {("binance.spot.BTCUSDT", "2025-01-01"): 95_000, ("ETHUSDT", "2025-01-01"): 95_000}


def test_whole_number_doubles_answered_as_json_integers_are_typed_by_the_record():
    trades = agg_trades("binance.spot.BTCUSDT", D1, 3).with_columns(price=pl.lit(100.0), qty=pl.Series([1.0, 2.5, 3.0]))
    (block,) = answered(list(block_documents(AGG_TRADE, trades, "binance.spot.BTCUSDT", D1, "w")))
    block["columns"]["price"] = [100, 100, 100]  # what ArangoDB sends back for 100.0
    block["columns"]["qty"] = [1, 2.5, 3]
    got = blocks_frame(AGG_TRADE, [block])
    assert got.schema == AGG_TRADE.polars and got.equals(trades)


def test_a_block_that_does_not_fit_the_record_is_a_store_error():
    (block,) = answered(list(block_documents(AGG_TRADE, agg_trades("binance.spot.BTCUSDT", D1, 3), "binance.spot.BTCUSDT", D1, "w")))
    with pytest.raises(StoreError, match=r"\('binance.spot.BTCUSDT', '2025-01-01'\)\] do not hold agg_trade v3"):
        blocks_frame(AGG_TRADE, [{**block, "columns": {**block["columns"], "price": ["a", "b", "c"]}}])
    with pytest.raises(StoreError, match="lacks agg_trade v3 column 'qty'"):
        blocks_frame(AGG_TRADE, [{**block, "columns": {k: v for k, v in block["columns"].items() if k != "qty"}}])
    with pytest.raises(StoreError, match="does not hold its 4 rows in every column"):
        blocks_frame(AGG_TRADE, [{**block, "rows": 4}])


def test_request_bodies_are_ascii_json_whatever_the_text():
    doc = {"_key": document_key("späť ✓"), "name": "späť ✓ 𝄞", "n": [1.5, 2]}
    assert dumps(doc).isascii() and loads(dumps(doc)) == doc


def test_a_day_is_sent_a_few_blocks_per_request():
    trades = agg_trades("binance.spot.BTCUSDT", D1, 170_001)
    requests_ = list(batched(block_documents(AGG_TRADE, trades, "binance.spot.BTCUSDT", D1, "w"), BLOCKS_PER_REQUEST))
    assert [len(r) for r in requests_] == [8, 8, 2]
    assert sum(b["rows"] for r in requests_ for b in r) == 170_001
    assert max(len(dumps(r)) for r in requests_) < 8 * 2**20  # a few MiB per request


# --- AQL


def test_heads_are_found_by_collection_with_every_filter_a_bind_variable():
    text, bind = aql.heads("trades", ["binance.spot.BTCUSDT"], D1, D2)
    assert text.startswith("FOR h IN @@heads FILTER h.collection == @collection AND h.write != null ")
    assert "FILTER h.instrument IN @instruments FILTER h.day >= @start FILTER h.day <= @end" in text
    assert bind == {"@heads": aql.HEADS, "collection": "trades", "instruments": ["binance.spot.BTCUSDT"],
                    "start": "2025-01-01", "end": "2025-01-02"}
    text, bind = aql.heads("trades")
    assert "@instruments" not in text and set(bind) == {"@heads", "collection"}


def test_blocks_are_read_by_the_heads_current_write_and_count():
    head = {"instrument": "binance.spot.BTCUSDT", "day": "2025-01-01", "write": "w", "blocks": 3, "rows": 25_000, "_rev": "x"}
    text, bind = aql.blocks("trades", [head])
    assert "b.write == h.write AND b.seq < h.blocks" in text and "columns: b.columns" in text
    assert bind == {"@c": "trades", "heads": [{"instrument": "binance.spot.BTCUSDT", "day": "2025-01-01", "write": "w", "blocks": 3}]}
    text, bind = aql.blocks("trades", [head], ["agg_id"])
    assert "KEEP(b.columns, @columns)" in text and bind["columns"] == ["agg_id"]


def test_stale_blocks_are_those_readers_cannot_see():
    text, bind = aql.remove_stale_blocks("trades", "binance.spot.BTCUSDT", D1, "w", 3)
    assert "(b.write != @write OR b.seq >= @blocks) REMOVE b IN @@c" in text
    assert bind == {"@c": "trades", "instrument": "binance.spot.BTCUSDT", "day": "2025-01-01", "write": "w", "blocks": 3}


def test_documents_are_filtered_by_bound_field_names_and_values():
    text, bind = aql.documents("models", {"graph_id": "g", "n": 3})
    assert text == "FOR d IN @@c FILTER d.@f0 == @v0 FILTER d.@f1 == @v1 RETURN [d.sf_key, UNSET(d, @drop)]"
    assert (bind["f0"], bind["v0"], bind["f1"], bind["v1"]) == ("graph_id", "g", "n", 3)


# --- the lease


def test_lease_decisions():
    assert decide(None, 1000) == Decision("insert")
    assert decide({"owner": None, "until": 0}, 1000) == Decision("take")
    assert decide({"owner": "a", "until": 1000}, 1000) == Decision("take")  # lapsed
    assert decide({"owner": "a", "until": 1001}, 1000) == Decision("wait", "a", 1001)


def test_a_held_lease_is_polled_quickly_then_once_a_second():
    delays = [poll_delay(i) for i in range(12)]
    assert delays == sorted(delays) and delays[0] < 0.05 and delays[-1] == 1.0


# --- errors


def server_error(status: int, error_num: int, message: str) -> ServerConnectionError:
    response = Response("get", "http://db:8529/_api/collection", {}, status, "", "{}")
    response.body = {"error": True, "code": status, "errorNum": error_num, "errorMessage": message}
    response.error_code, response.error_message = error_num, message
    return ServerConnectionError(response, Request("get", "/_api/collection"))


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (requests.ConnectionError("Connection refused"), r"cannot reach ArangoDB at http://db:8529 .*_ARANGO_URL"),
        (requests.ReadTimeout("read timed out"), r"did not answer within STREAMFORGE_ARANGO_TIMEOUT_S=60 s"),
        (requests.exceptions.SSLError("certificate verify failed"), r"STREAMFORGE_ARANGO_CA_CERT"),
        (OSError("Could not find a suitable TLS CA certificate bundle"), r"talking to ArangoDB .*_ARANGO_CA_CERT"),
        (server_error(401, 11, "not authorized"), r"STREAMFORGE_ARANGO_USER and STREAMFORGE_ARANGO_PASSWORD"),
        (server_error(404, DATABASE_NOT_FOUND, "database not found"), r"check STREAMFORGE_ARANGO_DB"),
        (server_error(500, 4, "boom"), r"ArangoDB at http://db:8529 failed while reading: .*boom"),
    ],
)
def test_driver_and_network_errors_become_store_errors_naming_the_url_and_the_setting(exc, says):
    assert re.search(says, str(store_error(exc, "http://db:8529", "reading", 60)))


def test_the_drivers_causeless_connection_error_is_reported_with_its_cause():
    cause = requests.ConnectionError("[Errno 111] Connection refused")
    bare = ConnectionAbortedError("Can't connect to host(s) within limit (1)")
    message = str(store_error(bare, "http://db:8529", "reading", 60, cause))
    assert "Connection refused" in message and "STREAMFORGE_ARANGO_URL" in message


def test_a_refused_connection_is_a_store_error_naming_the_url_and_the_setting(closed_url):
    store = ArangoStore(closed_url, "streamforge", "root", "")
    for call in (lambda: store.partitions("trades"), lambda: store.read("trades", AGG_TRADE), store.collections):
        with pytest.raises(StoreError, match=rf"cannot reach ArangoDB at {closed_url} .*Connection refused.*_ARANGO_URL"):
            call()


def test_settings_the_store_cannot_use_are_refused_by_name(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_ARANGO_URL", "http://db:8529")
    monkeypatch.setenv("STREAMFORGE_ARANGO_LEASE_S", "0")
    with pytest.raises(StoreError, match="STREAMFORGE_ARANGO_LEASE_S='0'"):
        ArangoStore.from_settings()
    monkeypatch.setenv("STREAMFORGE_ARANGO_LEASE_S", "30")
    monkeypatch.setenv("STREAMFORGE_ARANGO_COMPRESSION", "gzip")
    with pytest.raises(StoreError, match="STREAMFORGE_ARANGO_COMPRESSION='gzip'"):
        ArangoStore.from_settings()


def test_the_heads_collection_name_is_reserved(closed_url):
    with pytest.raises(StoreError, match="reserved"):
        ArangoStore(closed_url, "d", "u", "").put_documents(aql.HEADS, [], "id")


class _IndexEndpoint:
    """python-arango's connection interface, answering index creation as ArangoDB does; records each request."""

    db_name, username = "streamforge", "root"

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def serialize(self, obj: object) -> str:
        return json.dumps(obj)

    def send_request(self, request: Request) -> Response:
        self.requests.append(request)
        body = request.data | {"id": "trades/1", "isNewlyCreated": True, "code": 201, "error": False}
        response = Response(request.method, "http://db:8529/_api/index", {}, 201, "Created", json.dumps(body))
        response.body, response.is_success, response.error_code = json.loads(response.raw_body), True, None
        return response


def test_indexes_are_created_through_the_current_api_without_a_deprecation_warning():
    """python-arango 8 deprecates add_persistent_index (#11 item 8); the project turns DeprecationWarnings off, so the
    test turns them into errors."""
    endpoint = _IndexEndpoint()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        _add_index(StandardCollection(endpoint, DefaultApiExecutor(endpoint), "trades"), ["instrument", "day"])
    [request] = endpoint.requests
    assert (request.method, request.endpoint, request.params) == ("post", "/_api/index", {"collection": "trades"})
    assert request.data == {"type": "persistent", "fields": ["instrument", "day"], "name": "sf_instrument_day"}


# --- against a server


@pytest.mark.arango
def test_collections_get_persistent_indexes_and_partitions_are_listed_by_index(arango_store, collection):
    arango_store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 5))
    fields = [i["fields"] for i in arango_store.db.collection(collection).indexes() if i["type"] == "persistent"]
    assert ["instrument", "day", "write", "seq"] in fields
    heads = [i["fields"] for i in arango_store.db.collection(aql.HEADS).indexes() if i["type"] == "persistent"]
    assert ["collection", "instrument", "day"] in heads
    text, bind = aql.heads(collection)
    plan = arango_store.db.aql.explain(text, bind_vars=bind)
    assert any(node["type"] == "IndexNode" for node in plan["nodes"]), plan["nodes"]


@pytest.mark.arango
def test_a_day_is_stored_as_blocks_and_a_rewrite_leaves_only_the_new_ones(arango_store, collection):
    for seed in (0, 1):
        trades = agg_trades("binance.spot.BTCUSDT", D1, 25_000, seed=seed)
        arango_store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)
    assert arango_store.db.collection(collection).count() == 3
    arango_store.merge_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 5, first_id=25_001))
    assert arango_store.db.collection(collection).count() == 4  # an append adds a block, nothing stored is sent again
    assert arango_store.read(collection, AGG_TRADE).height == 25_005


@pytest.mark.arango
def test_a_lapsed_lease_is_taken_over_and_its_old_holder_can_no_longer_commit(arango_server, collection):
    """The first holder stops renewing (as a stalled or killed writer does); the second waits for the lapse, writes,
    and the first one's late flip fails instead of overwriting."""
    short = ArangoStore(**arango_server, lease_s=1)
    short.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, agg_trades("binance.spot.BTCUSDT", D1, 10))
    key = head_key(collection, "binance.spot.BTCUSDT", D1)
    stalled = Lease.take(short.db, key, {}, "the stalled writer", 1)
    trades = agg_trades("binance.spot.BTCUSDT", D1, 20, seed=1)
    assert short.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades) == 20
    with pytest.raises(StoreError, match="lost its lease to another writer"):
        stalled.flip("stale-write", 1, 99)
    assert short.read(collection, AGG_TRADE).equals(trades)
    assert short.partitions(collection) == [PartitionInfo("binance.spot.BTCUSDT", D1, 20)]


BIG = 400_000  # rows: 40 blocks in 5 requests, so a kill lands between requests


def write_big_partition(server: dict, collection: str) -> None:
    """Child process body: replace the partition with BIG rows (the parent kills it midway)."""
    trades = agg_trades("binance.spot.BTCUSDT", D1, BIG, seed=9)
    ArangoStore(**server, lease_s=1).replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, trades)


@pytest.mark.arango
@pytest.mark.slow
@pytest.mark.parametrize("old_content", [True, False], ids=["over-old-content", "new-partition"])
def test_a_writer_killed_mid_replace_leaves_the_old_partition_or_none(arango_server, collection, old_content):
    store = ArangoStore(**arango_server, lease_s=1)
    old = agg_trades("binance.spot.BTCUSDT", D1, 100)
    if old_content:
        store.replace_partition(collection, AGG_TRADE, "binance.spot.BTCUSDT", D1, old)
    blocks_before = store.db.collection(collection).count() if old_content else 0
    child = multiprocessing.get_context("spawn").Process(target=write_big_partition, args=(arango_server, collection))
    child.start()
    deadline = time.monotonic() + 120
    while not store.db.has_collection(collection) or store.db.collection(collection).count() <= blocks_before:
        assert child.is_alive() and time.monotonic() < deadline, "the child never started writing"
        time.sleep(0.001)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert store.db.collection(collection).count() > blocks_before, "the kill should have landed mid-write"

    assert store.read(collection, AGG_TRADE).equals(old if old_content else AGG_TRADE.empty())
    assert store.partitions(collection) == ([PartitionInfo("binance.spot.BTCUSDT", D1, 100)] if old_content else [])
    write_big_partition(arango_server, collection)  # the re-run: waits out the killed writer's lease (1 s)
    assert store.read(collection, AGG_TRADE).equals(agg_trades("binance.spot.BTCUSDT", D1, BIG, seed=9))
    assert store.db.collection(collection).count() == math.ceil(BIG / BLOCK_ROWS)  # the killed write's blocks are gone


@pytest.mark.arango
def test_first_use_by_several_processes_at_once_creates_everything_once(arango_server):
    """Creating a database, collection, index or graph that another store created meanwhile is success."""
    fresh = {**arango_server, "database": arango_server["database"] + "_race"}
    stores, trades = [ArangoStore(**fresh) for _ in range(4)], agg_trades("binance.spot.BTCUSDT", D1, 5)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.replace_partition("race", AGG_TRADE, "binance.spot.BTCUSDT", D1, trades), stores))
        assert stores[0].partitions("race") == [PartitionInfo("binance.spot.BTCUSDT", D1, 5)]
    finally:
        system = ArangoClient(hosts=fresh["url"], verify_override=fresh["ca_cert"] or None).db(
            "_system", username=fresh["user"], password=fresh["password"]
        )
        system.delete_database(fresh["database"], ignore_missing=True)
