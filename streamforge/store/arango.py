"""The production store: ArangoDB, one document per row, chosen with ``STREAMFORGE_STORE=arangodb``.

Each row becomes a document whose ``_key`` is the record's key columns joined by ':' (times as integer µs), e.g.
``BTCUSDT:123456`` for an aggregate trade or ``BTCUSDT:5m:1735689600000000`` for a candle. The same row always gets
the same key, so importing a partition again replaces documents instead of adding copies. Times are stored as
integer µs (JSON has no timestamp type, and integers compare and index exactly). Two bookkeeping attributes ride
along and are stripped on read: ``sf_day`` (the partition's UTC day, so partitions can be listed and deleted without
knowing the record type) and ``sf_write`` (an id of the write that last stored the document).

Replacing a partition is: (1) bulk-import the new rows with ``on_duplicate="replace"``, then (2) remove the
partition's documents that step 1 did not write — those whose ``sf_write`` is not this write's id, i.e. whose keys
are not in the new set (the id stands for the key set so the query does not have to ship millions of keys).
This order never leaves the partition missing data: step 1 only adds or replaces documents, and step 2 only removes
documents that the new content does not contain. A reader during the replace may see old and new rows mixed, and a
run killed between the steps leaves old rows that the next replace removes — but never a partition with fewer rows
than the new content. (A single transaction would hide the mix, but ArangoDB's RocksDB engine commits big
transactions in pieces anyway, so it would not give a real guarantee for a day of trades.)
"""

from __future__ import annotations

import functools
import uuid
from datetime import date

import polars as pl
from arango import ArangoClient
from arango.collection import StandardCollection
from arango.exceptions import ArangoError

from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.errors import StoreError
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE, TIME, Record
from streamforge.store.base import (
    GRAPH_EDGES,
    GRAPH_NODES,
    PartitionInfo,
    Store,
    check_collection,
    check_graph_id,
    partition_frame,
    check_instrument,
)

_BOOKKEEPING = ("_key", "_id", "_rev", "sf_day", "sf_write")
_BATCH = 10_000  # documents per import request and per cursor batch: a few MB of JSON
# The named graph over every stored market graph: traverse it with AQL, e.g. the messages node 7 of a graph receives:
#   FOR v, e IN 1..1 INBOUND 'graph_nodes/<graph_id>:7' GRAPH 'market_graph' RETURN {v, type: e.edge_type}
MARKET_GRAPH = "market_graph"
_GRAPH_BOOKKEEPING = ("_key", "_id", "_rev", "_from", "_to", "graph_id", "sf_write")


def _arango_errors(method):
    """Turn driver errors into StoreError naming the operation, so callers handle one exception type."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (ArangoError, ConnectionError) as exc:  # python-arango raises ConnectionAbortedError when unreachable
            raise StoreError(f"ArangoDB {method.__name__} failed at {self.url}: {settings.mask_credentials(str(exc))}") from exc

    return wrapper


class ArangoStore(Store):
    def __init__(self, url: str, database: str, user: str, password: str, ca_cert: str = ""):
        """Connect, creating the database when missing (when the user may not, it must exist already)."""
        self.url = settings.mask_credentials(url)  # what messages show; the client gets the URL as given
        client = ArangoClient(hosts=url, verify_override=ca_cert or None)
        try:
            system = client.db("_system", username=user, password=password)
            try:
                if not system.has_database(database):
                    system.create_database(database)
            except ArangoError:
                pass  # no rights on _system: fine if the database exists, which the next line verifies
            self.db = client.db(database, username=user, password=password, verify=True)
        except (ArangoError, ConnectionError) as exc:
            raise StoreError(
                f"cannot use ArangoDB database {database!r} at {self.url} as {user!r}: "
                f"{settings.mask_credentials(str(exc))}; check "
                "STREAMFORGE_ARANGO_URL/DB/USER/PASSWORD (and STREAMFORGE_ARANGO_CA_CERT for https)"
            ) from exc
        self._indexed: set[str] = set()

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
        )

    # --- partitions

    @_arango_errors
    def replace_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> int:
        df = partition_frame(record, instrument, day, df)
        coll = self._collection(collection, record)
        write_id = uuid.uuid4().hex
        for offset in range(0, df.height, _BATCH):
            batch = to_documents(record, df.slice(offset, _BATCH), day, write_id)
            result = coll.import_bulk(batch, on_duplicate="replace", halt_on_error=True)
            if result["errors"]:
                raise StoreError(f"ArangoDB refused {result['errors']} rows of {collection} {instrument} {day}: {result}")
        lo, hi = day_bounds_us(day)
        self.db.aql.execute(
            "FOR d IN @@c FILTER d.instrument == @instrument AND d.@time >= @lo AND d.@time < @hi AND d.sf_write != @write "
            "REMOVE d IN @@c",
            bind_vars={
                "@c": collection,
                "instrument": instrument,
                "time": record.time_column,
                "lo": lo,
                "hi": hi,
                "write": write_id,
            },
        )
        return df.height

    @_arango_errors
    def read(
        self,
        collection: str,
        record: Record,
        instruments: list[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.DataFrame:
        if not self.db.has_collection(check_collection(collection)):
            return record.empty()
        filters, bind = [], {"@c": collection, "drop": list(_BOOKKEEPING)}
        if instruments is not None:
            filters.append("d.instrument IN @instruments")
            bind["instruments"] = list(instruments)
        if start is not None or end is not None:
            bind["time"] = record.time_column
        if start is not None:
            filters.append("d.@time >= @lo")
            bind["lo"] = day_bounds_us(start)[0]
        if end is not None:
            filters.append("d.@time < @hi")
            bind["hi"] = day_bounds_us(end)[1]
        query = "FOR d IN @@c " + "".join(f"FILTER {f} " for f in filters) + "RETURN UNSET(d, @drop)"
        rows = list(self.db.aql.execute(query, bind_vars=bind, batch_size=_BATCH, stream=True))
        if not rows:
            return record.empty()
        return from_documents(record, rows).sort(list(record.key))

    @_arango_errors
    def partitions(self, collection: str) -> list[PartitionInfo]:
        if not self.db.has_collection(check_collection(collection)):
            return []
        cursor = self.db.aql.execute(
            "FOR d IN @@c FILTER HAS(d, 'sf_day') COLLECT instrument = d.instrument, day = d.sf_day WITH COUNT INTO rows "
            "SORT instrument, day RETURN {instrument, day, rows}",
            bind_vars={"@c": collection},
        )
        return [PartitionInfo(p["instrument"], date.fromisoformat(p["day"]), p["rows"]) for p in cursor]

    @_arango_errors
    def delete_partition(self, collection: str, instrument: str, day: date) -> int:
        if not self.db.has_collection(check_collection(collection)):
            return 0
        cursor = self.db.aql.execute(
            "FOR d IN @@c FILTER d.instrument == @instrument AND d.sf_day == @day REMOVE d IN @@c",
            bind_vars={"@c": collection, "instrument": check_instrument(instrument), "day": day.isoformat()},
        )
        return cursor.statistics()["modified"]

    @_arango_errors
    def collections(self) -> list[str]:
        return sorted(c["name"] for c in self.db.collections() if not c["system"])

    # --- documents

    @_arango_errors
    def put_documents(self, collection: str, docs: list[dict], key_field: str) -> int:
        coll = self._collection(collection)
        for offset in range(0, len(docs), _BATCH):
            batch = [{**doc, "_key": str(doc[key_field])} for doc in docs[offset : offset + _BATCH]]
            result = coll.import_bulk(batch, on_duplicate="replace", halt_on_error=True)
            if result["errors"]:
                raise StoreError(f"ArangoDB refused {result['errors']} documents of {collection}: {result}")
        return len(docs)

    @_arango_errors
    def get_documents(self, collection: str, filters: dict | None = None) -> list[dict]:
        if not self.db.has_collection(check_collection(collection)):
            return []
        bind: dict = {"@c": collection, "drop": ["_key", "_id", "_rev"]}
        query = "FOR d IN @@c "
        for i, (field, value) in enumerate((filters or {}).items()):
            query += f"FILTER d.@f{i} == @v{i} "
            bind[f"f{i}"], bind[f"v{i}"] = field, value
        query += "SORT d._key RETURN UNSET(d, @drop)"
        return list(self.db.aql.execute(query, bind_vars=bind, batch_size=_BATCH))

    # --- graphs: vertex collection graph_nodes, edge collection graph_edges, named graph MARKET_GRAPH

    @_arango_errors
    def replace_graph(self, graph_id: str, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        """Import, then remove what this write did not write: the same never-fewer-rows order as a partition."""
        check_graph_id(graph_id)
        self._market_graph()
        write_id = uuid.uuid4().hex
        docs = {
            GRAPH_NODES: graph_documents(GRAPH_NODE, nodes, graph_id, write_id),
            GRAPH_EDGES: graph_documents(GRAPH_EDGE, edges, graph_id, write_id),
        }
        for name, batch_docs in docs.items():
            coll = self.db.collection(name)
            for offset in range(0, len(batch_docs), _BATCH):
                result = coll.import_bulk(batch_docs[offset : offset + _BATCH], on_duplicate="replace", halt_on_error=True)
                if result["errors"]:
                    raise StoreError(f"ArangoDB refused {result['errors']} documents of graph {graph_id}: {result}")
            self.db.aql.execute(
                "FOR d IN @@c FILTER d.graph_id == @g AND d.sf_write != @write REMOVE d IN @@c",
                bind_vars={"@c": name, "g": graph_id, "write": write_id},
            )

    @_arango_errors
    def read_graph(self, graph_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        check_graph_id(graph_id)
        frames = []
        for name, record in ((GRAPH_NODES, GRAPH_NODE), (GRAPH_EDGES, GRAPH_EDGE)):
            rows = []
            if self.db.has_collection(name):
                query = "FOR d IN @@c FILTER d.graph_id == @g RETURN UNSET(d, @drop)"
                bind = {"@c": name, "g": graph_id, "drop": list(_GRAPH_BOOKKEEPING)}
                rows = list(self.db.aql.execute(query, bind_vars=bind, batch_size=_BATCH, stream=True))
            frames.append(from_documents(record, rows) if rows else record.empty())
        nodes, edges = frames
        if nodes.is_empty():
            raise StoreError(f"graph {graph_id!r} is not in ArangoDB at {self.url}: materialise its `graph` partition")
        return nodes.sort("node_id"), edges.sort(list(GRAPH_EDGE.key))

    def _market_graph(self) -> None:
        """The named graph and its two collections (created together, so graph_edges is an edge collection)."""
        if not self.db.has_graph(MARKET_GRAPH):
            self.db.create_graph(
                MARKET_GRAPH,
                edge_definitions=[
                    {
                        "edge_collection": GRAPH_EDGES,
                        "from_vertex_collections": [GRAPH_NODES],
                        "to_vertex_collections": [GRAPH_NODES],
                    }
                ],
            )
        if MARKET_GRAPH not in self._indexed:
            for name in (GRAPH_NODES, GRAPH_EDGES):
                self.db.collection(name).add_persistent_index(fields=["graph_id"])
            self._indexed.add(MARKET_GRAPH)

    def _collection(self, name: str, record: Record | None = None) -> StandardCollection:
        """The collection, created when missing; with ``record``, also its index for reads and partition replaces."""
        if not self.db.has_collection(check_collection(name)):
            self.db.create_collection(name)
        coll = self.db.collection(name)
        if record is not None and name not in self._indexed:
            coll.add_persistent_index(fields=["instrument", record.time_column])
            coll.add_persistent_index(fields=["instrument", "sf_day"])
            self._indexed.add(name)
        return coll


def _time_columns(record: Record) -> list[str]:
    return [c.name for c in record.columns if c.type == TIME]


def to_documents(record: Record, df: pl.DataFrame, day: date, write_id: str) -> list[dict]:
    """Rows as ArangoDB documents: times as integer µs, a ``_key`` from the key columns, and the bookkeeping fields."""
    df = df.with_columns(pl.col(_time_columns(record)).dt.epoch("us")).with_columns(
        _key=pl.concat_str([pl.col(k).cast(pl.String) for k in record.key], separator=":"),
        sf_day=pl.lit(day.isoformat()),
        sf_write=pl.lit(write_id),
    )
    return df.to_dicts()


def graph_documents(record: Record, df: pl.DataFrame, graph_id: str, write_id: str) -> list[dict]:
    """Nodes or edges of one graph as documents: ``_key`` = graph id and node id (nodes) or graph id and the edge's
    record key (edges); edges also get ``_from`` / ``_to``, the ids of their nodes, so AQL can traverse them."""
    df = record.conform(df).with_columns(pl.col(_time_columns(record)).dt.epoch("us"))
    key_columns = ("node_id",) if record is GRAPH_NODE else record.key
    key = pl.concat_str([pl.lit(graph_id), *[pl.col(k).cast(pl.String) for k in key_columns]], separator=":")
    if record is GRAPH_EDGE:
        node = pl.lit(f"{GRAPH_NODES}/{graph_id}:")
        df = df.with_columns(
            _from=pl.concat_str([node, pl.col("src").cast(pl.String)]),
            _to=pl.concat_str([node, pl.col("dst").cast(pl.String)]),
        )
    return df.with_columns(_key=key, graph_id=pl.lit(graph_id), sf_write=pl.lit(write_id)).to_dicts()


def from_documents(record: Record, docs: list[dict]) -> pl.DataFrame:
    """The inverse of ``to_documents`` (bookkeeping fields already dropped): a frame conforming to ``record``."""
    times = _time_columns(record)
    schema = {name: (pl.Int64 if name in times else dtype) for name, dtype in record.polars.items()}
    df = pl.DataFrame(docs, schema=schema)
    return record.conform(df.with_columns(pl.col(times).cast(pl.Datetime("us", "UTC"))))
