"""The ArangoDB store: partitions as blocks under a per-partition head document (see the package docstring)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

import polars as pl
from arango import ArangoClient
from arango.collection import StandardCollection
from arango.database import StandardDatabase
from arango.errno import DUPLICATE_NAME, GRAPH_DUPLICATE
from arango.exceptions import (
    CollectionCreateError,
    DatabaseCreateError,
    GraphCreateError,
    IndexCreateError,
)
from arango.http import DeflateRequestCompression

from streamforge import settings
from streamforge.errors import StoreError
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE, Record
from streamforge.store.arango import aql
from streamforge.store.arango.documents import (
    BLOCK_ROWS,
    CALLER_KEY,
    block_documents,
    decode_blocks,
    document_key,
    dumps,
    graph_documents,
    graph_frame,
    graph_head_key,
    head_key,
    loads,
)
from streamforge.store.arango.errors import HTTPClient, store_errors
from streamforge.store.arango.lease import Lease
from streamforge.store.base import (
    GRAPH_EDGES,
    GRAPH_NODES,
    PARTITION_COLUMN,
    Merged,
    PartitionInfo,
    Store,
    check_collection,
    check_finite,
    check_finite_documents,
    check_graph_id,
    check_instrument,
    merge_frame,
    partition_frame,
    row_key,
    rows_to_add,
)

# The named graph over every stored market graph: traverse it with AQL, e.g. the messages node 7 of a graph receives:
#   FOR v, e IN 1..1 INBOUND 'graph_nodes/<graph_id>:7' GRAPH 'market_graph' RETURN {v, type: e.edge_type}
MARKET_GRAPH = "market_graph"
BLOCKS_PER_REQUEST = 8  # blocks per import request and per cursor page: a few MiB of JSON each
DOCUMENTS_PER_REQUEST = 10_000
READ_TRIES = 3  # a read that raced a rewrite (its blocks removed under it) is repeated from the heads
_GRAPH_BOOKKEEPING = ["_key", "_id", "_rev", "_from", "_to", "graph_id", "sf_write"]
_PARTITION_INDEX = [PARTITION_COLUMN, "day", "write", "seq"]
_HEADS_INDEX = ["collection", PARTITION_COLUMN, "day"]


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` items, the last one shorter (``itertools.batched`` comes with Python 3.12)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _seconds(setting: str) -> float:
    value = settings.get(setting)
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds > 0:
        raise StoreError(f"{setting}={value!r} is not a positive number of seconds")
    return seconds


def _blocks_for(rows: int) -> int:
    return math.ceil(rows / BLOCK_ROWS)


class ArangoStore(Store):
    def __init__(
        self,
        url: str,
        database: str,
        user: str,
        password: str,
        ca_cert: str = "",
        *,
        timeout_s: float = 60.0,
        lease_s: float = 60.0,
        compression: str = "none",
    ):
        """Nothing is sent until the first operation, which connects and creates the database when missing (when the
        user may not, it must exist already)."""
        if compression not in ("none", "deflate"):
            raise StoreError(f"STREAMFORGE_ARANGO_COMPRESSION={compression!r}: use 'none' or 'deflate'")
        self.url, self.database, self.timeout_s, self.lease_s = url, database, timeout_s, lease_s
        self._credentials = (user, password)
        self.http = HTTPClient(request_timeout=timeout_s, retry_attempts=2, backoff_factor=0.5)
        deflate = compression == "deflate"
        self._client = ArangoClient(
            hosts=url,
            http_client=self.http,
            resolver_max_tries=len(url.split(",")),
            serializer=dumps,
            deserializer=loads,
            verify_override=ca_cert or None,
            request_compression=DeflateRequestCompression(threshold=16_384, level=1) if deflate else None,
            response_compression="deflate" if deflate else None,
        )
        self._db: StandardDatabase | None = None
        self._ready: set[str] = set()

    @classmethod
    def from_settings(cls) -> ArangoStore:
        url = settings.get("STREAMFORGE_ARANGO_URL")
        if not url:
            raise StoreError("STREAMFORGE_STORE=arangodb needs STREAMFORGE_ARANGO_URL, e.g. http://127.0.0.1:8529")
        return cls(
            url,
            settings.get("STREAMFORGE_ARANGO_DB"),
            settings.get("STREAMFORGE_ARANGO_USER"),
            settings.get("STREAMFORGE_ARANGO_PASSWORD"),
            settings.get("STREAMFORGE_ARANGO_CA_CERT"),
            timeout_s=_seconds("STREAMFORGE_ARANGO_TIMEOUT_S"),
            lease_s=_seconds("STREAMFORGE_ARANGO_LEASE_S"),
            compression=settings.get("STREAMFORGE_ARANGO_COMPRESSION"),
        )

    @property
    def db(self) -> StandardDatabase:
        if self._db is None:
            self._db = self._connect()
        return self._db

    def _connect(self) -> StandardDatabase:
        user, password = self._credentials
        try:
            self._client.db("_system", username=user, password=password).create_database(self.database)
        except DatabaseCreateError:
            pass  # it exists, or this user may not create databases: the next line verifies that it can be used
        db = self._client.db(self.database, username=user, password=password, verify=True)
        self._ensure(db, aql.HEADS, index=_HEADS_INDEX)
        return db

    # --- partitions

    @store_errors("replacing a partition")
    def replace_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> int:
        self._name(collection)
        df = partition_frame(record, instrument, day, df)
        if df.height == 0:
            self.delete_partition(collection, instrument, day)
            return 0
        with self._writing(collection, instrument, day) as lease:
            write = uuid.uuid4().hex
            self._import_blocks(collection, lease, block_documents(record, df, instrument, day, write))
            lease.flip(write, _blocks_for(df.height), df.height)
            self._remove_stale_blocks(collection, instrument, day, lease.head)
        return df.height

    @store_errors("merging rows into a partition")
    def merge_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> Merged:
        """Appends blocks of the new rows to the current write and counts them in with one flip; nothing stored is
        sent again."""
        self._name(collection)
        df = merge_frame(record, instrument, day, df)
        if df.height == 0:
            return Merged(0, sum(h["rows"] for h in self._heads(collection, [instrument], day, day)))
        with self._writing(collection, instrument, day) as lease:
            head = lease.head
            stored = df.select(row_key(record)).clear()
            if head["write"]:
                stored = self._read_blocks(collection, record, [head], row_key(record))
                if stored is None:
                    raise StoreError(f"{lease.what}: its head counts {head['rows']} rows that its blocks do not hold; "
                                     "rewrite the partition (replace it) before merging into it")
            new = rows_to_add(record, stored, df)
            if new.height:
                write = head["write"] or uuid.uuid4().hex
                self._import_blocks(collection, lease, block_documents(record, new, instrument, day, write, head["blocks"]))
                lease.flip(write, head["blocks"] + _blocks_for(new.height), head["rows"] + new.height)
            return Merged(new.height, lease.head["rows"])

    @store_errors("reading partitions")
    def read(
        self,
        collection: str,
        record: Record,
        instruments: list[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.DataFrame:
        check_collection(collection)
        for _ in range(READ_TRIES):
            current = self._heads(collection, instruments, start, end)
            if not current:
                return record.empty()
            frame = self._read_blocks(collection, record, current)
            if frame is not None:
                return frame.sort(list(record.key))
        raise StoreError(
            f"the partitions of {collection} kept being rewritten while they were read ({READ_TRIES} tries), or a "
            "head counts rows its blocks do not hold; read again, and rewrite the partition if this persists"
        )

    @store_errors("listing partitions")
    def partitions(self, collection: str) -> list[PartitionInfo]:
        check_collection(collection)
        return sorted(
            PartitionInfo(h[PARTITION_COLUMN], date.fromisoformat(h["day"]), h["rows"]) for h in self._heads(collection)
        )

    @store_errors("deleting a partition")
    def delete_partition(self, collection: str, instrument: str, day: date) -> int:
        self._name(collection)
        check_instrument(instrument)
        if not self._heads(collection, [instrument], day, day):
            return 0
        with self._writing(collection, instrument, day) as lease:
            rows = lease.head["rows"] if lease.head["write"] else 0
            lease.flip(None, 0, 0)
            self._remove_stale_blocks(collection, instrument, day, lease.head)
        return rows

    @store_errors("listing collections")
    def collections(self) -> list[str]:
        return sorted(c["name"] for c in self.db.collections() if not c["system"] and c["name"] != aql.HEADS)

    # --- documents

    @store_errors("putting documents")
    def put_documents(self, collection: str, docs: list[dict], key_field: str) -> int:
        check_finite_documents(collection, docs, key_field)
        coll = self._collection(collection)
        for batch in batched(docs, DOCUMENTS_PER_REQUEST):
            keyed = [{**d, "_key": document_key(str(d[key_field])), CALLER_KEY: str(d[key_field])} for d in batch]
            result = coll.import_bulk(keyed, on_duplicate="replace", halt_on_error=True)
            if result["errors"]:
                raise StoreError(f"ArangoDB refused {result['errors']} documents of {collection}: {result}")
        return len(docs)

    @store_errors("getting documents")
    def get_documents(self, collection: str, filters: dict | None = None) -> list[dict]:
        name = self._name(collection)
        if not self.db.has_collection(name):
            return []
        text, bind = aql.documents(name, filters)
        keyed = list(self.db.aql.execute(text, bind_vars=bind, batch_size=DOCUMENTS_PER_REQUEST))
        return [doc for _, doc in sorted(keyed, key=lambda pair: pair[0])]

    # --- graphs: vertex collection graph_nodes, edge collection graph_edges, named graph MARKET_GRAPH

    @store_errors("replacing a graph")
    def replace_graph(self, graph_id: str, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        """Under the graph's lease, import, then remove what this write did not write. (A reader racing a rewrite
        may see old and new documents together, as with the embedded store's two files.)"""
        check_graph_id(graph_id)
        check_finite(nodes, f"graph {graph_id} nodes")
        check_finite(edges, f"graph {graph_id} edges")
        self._market_graph()
        with self._leased(graph_head_key(graph_id), {"graph": graph_id}, f"graph {graph_id}") as lease:
            write = uuid.uuid4().hex
            for name, record, frame in ((GRAPH_NODES, GRAPH_NODE, nodes), (GRAPH_EDGES, GRAPH_EDGE, edges)):
                coll = self.db.collection(name)
                for batch in batched(graph_documents(record, frame, graph_id, write), DOCUMENTS_PER_REQUEST):
                    result = coll.import_bulk(batch, on_duplicate="replace", halt_on_error=True)
                    if result["errors"]:
                        raise StoreError(f"ArangoDB refused {result['errors']} documents of graph {graph_id}: {result}")
                    lease.renew_if_due()
                text, bind = aql.remove_other_graph_writes(name, graph_id, write)
                self.db.aql.execute(text, bind_vars=bind)

    @store_errors("reading a graph")
    def read_graph(self, graph_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        check_graph_id(graph_id)
        frames = []
        for name, record in ((GRAPH_NODES, GRAPH_NODE), (GRAPH_EDGES, GRAPH_EDGE)):
            rows = []
            if self.db.has_collection(name):
                text, bind = aql.graph_documents(name, graph_id, _GRAPH_BOOKKEEPING)
                rows = list(self.db.aql.execute(text, bind_vars=bind, batch_size=DOCUMENTS_PER_REQUEST, stream=True))
            frames.append(graph_frame(record, rows))
        nodes, edges = frames
        if nodes.is_empty():
            raise StoreError(f"graph {graph_id!r} is not in ArangoDB at {self.url}: materialise its `graph` partition")
        return nodes.sort("node_id"), edges.sort(list(GRAPH_EDGE.key))

    # --- the parts

    @contextmanager
    def _writing(self, collection: str, instrument: str, day: date) -> Iterator[Lease]:
        """Hold the partition's lease, with the blocks readers cannot see (left by killed writers) removed first."""
        self._collection(collection, index=_PARTITION_INDEX)
        fields = {"collection": collection, PARTITION_COLUMN: instrument, "day": day.isoformat()}
        what = f"partition {instrument} {day.isoformat()} of {collection}"
        with self._leased(head_key(collection, instrument, day), fields, what) as lease:
            self._remove_stale_blocks(collection, instrument, day, lease.head)
            yield lease

    @contextmanager
    def _leased(self, key: str, fields: dict, what: str) -> Iterator[Lease]:
        lease = Lease.take(self.db, key, fields, what, self.lease_s)
        try:
            yield lease
        finally:
            lease.release()

    def _import_blocks(self, collection: str, lease: Lease, blocks: Iterable[dict]) -> None:
        """Send blocks a few per request, renewing the lease between requests. ``replace`` makes a retried request
        harmless: a block's key names its write and position."""
        coll = self.db.collection(collection)
        for batch in batched(blocks, BLOCKS_PER_REQUEST):
            result = coll.import_bulk(batch, on_duplicate="replace", halt_on_error=True)
            if result["errors"]:
                raise StoreError(f"ArangoDB refused {result['errors']} blocks of {lease.what}: {result}")
            lease.renew_if_due()

    def _remove_stale_blocks(self, collection: str, instrument: str, day: date, head: dict) -> None:
        text, bind = aql.remove_stale_blocks(collection, instrument, day, head["write"], head["blocks"])
        self.db.aql.execute(text, bind_vars=bind)

    def _heads(
        self, collection: str, instruments: list[str] | None = None, start: date | None = None, end: date | None = None
    ) -> list[dict]:
        text, bind = aql.heads(collection, instruments, start, end)
        return list(self.db.aql.execute(text, bind_vars=bind))

    def _read_blocks(
        self, collection: str, record: Record, current: list[dict], columns: list[str] | None = None
    ) -> pl.DataFrame | None:
        """The rows of the heads' current writes, decoded as the cursor pages arrive; None when a partition's blocks
        no longer hold its head's rows (a rewrite removed them meanwhile)."""
        text, bind = aql.blocks(collection, current, columns)
        cursor = self.db.aql.execute(text, bind_vars=bind, batch_size=BLOCKS_PER_REQUEST, stream=True)
        frame, rows = decode_blocks(record, cursor, columns)
        if any(rows[h[PARTITION_COLUMN], h["day"]] != h["rows"] for h in current):
            return None
        return frame if columns is not None else record.conform(frame)

    def _name(self, collection: str) -> str:
        check_collection(collection)
        if collection == aql.HEADS:
            raise StoreError(f"collection name {collection!r} is reserved for the ArangoDB store's partition heads")
        return collection

    def _collection(self, name: str, index: list[str] | None = None) -> StandardCollection:
        name = self._name(name)
        self._ensure(self.db, name, index=index)
        return self.db.collection(name)

    def _ensure(self, db: StandardDatabase, name: str, index: list[str] | None = None) -> None:
        """Create the collection (and its index) once per store; another process creating it first is success."""
        if name in self._ready:
            return
        try:
            db.create_collection(name)
        except CollectionCreateError as exc:
            if exc.error_code != DUPLICATE_NAME:
                raise
        if index is not None:
            _add_index(db.collection(name), index)
        self._ready.add(name)

    def _market_graph(self) -> None:
        """The named graph and its two collections (created together, so graph_edges is an edge collection)."""
        if MARKET_GRAPH in self._ready:
            return
        try:
            self.db.create_graph(
                MARKET_GRAPH,
                edge_definitions=[
                    {"edge_collection": GRAPH_EDGES, "from_vertex_collections": [GRAPH_NODES],
                     "to_vertex_collections": [GRAPH_NODES]}
                ],
            )
        except GraphCreateError as exc:
            if exc.error_code not in (GRAPH_DUPLICATE, DUPLICATE_NAME):
                raise
        for name in (GRAPH_NODES, GRAPH_EDGES):
            _add_index(self.db.collection(name), ["graph_id"])
        self._ready.add(MARKET_GRAPH)


def _add_index(coll: StandardCollection, fields: list[str]) -> None:
    """A persistent index; the server returns an identical existing one, and one that another process is creating
    at the same moment counts as created."""
    try:
        coll.add_index({"type": "persistent", "fields": fields, "name": "sf_" + "_".join(fields)})
    except IndexCreateError as exc:
        if exc.error_code != DUPLICATE_NAME:
            raise
