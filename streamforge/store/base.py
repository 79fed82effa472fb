"""What every store promises, whichever backend holds the data.

A store keeps *partitions*: all rows of one record type for one instrument and one UTC day (a catalog cell), in a
named collection (``trades``, ``candles_1m``...); the partition's name is the instrument id (``binance.spot.BTCUSDT``,
``okx.swap.BTC-USDT-SWAP``). The pipeline writes a partition as a whole and rewrites it as a whole when it is
re-materialised (:meth:`Store.replace_partition`); the live capture adds the rows it has not stored yet
(:meth:`Store.merge_partition`). Neither may ever leave a partition half written: readers see the old rows or the
new ones, and a writer killed at any instant leaves the old rows. Two writers of one partition never interleave: the
second waits for the first. Reads return rows sorted by the record's key, and listings sort by code point (Python's
string order), whichever backend holds the data.

Numbers: every float a store keeps is finite. NaN and ±Infinity are refused, with a StoreError naming the column
(or document field), by every write of every backend — JSON, and so ArangoDB, cannot hold them, and in market data
they only ever mean a bug upstream. Every read goes through the record's schema, so a backend that returns a
whole-number double as a JSON integer still gives a Float64 column.

Trained models' records need plain keyed documents rather than partitions: :meth:`Store.put_documents` /
:meth:`Store.get_documents` cover that and nothing more. A market graph is neither (its nodes span instruments and days,
and it is rewritten as a whole per training window), so :meth:`Store.replace_graph` / :meth:`Store.read_graph` keep
every graph in two collections, ``graph_nodes`` and ``graph_edges``, told apart by a graph id.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date

import polars as pl

from streamforge import catalog
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, StoreError
from streamforge.instruments import check_form
from streamforge.schemas import INSTRUMENT, Record

# Both backends use these names on disk / as ArangoDB collection names, so they must be safe for both.
_COLLECTION = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_GRAPH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+.-]{0,199}")  # file names and ArangoDB keys allow all of these
GRAPH_NODES, GRAPH_EDGES = catalog.dataset(catalog.GRAPH_NODES).collection, catalog.dataset(catalog.GRAPH_EDGES).collection
# The record column that holds the partition's name; every row of a partition has the same value in it.
PARTITION_COLUMN = INSTRUMENT


@dataclass(frozen=True)
class PartitionInfo:
    instrument: str
    day: date
    rows: int


@dataclass(frozen=True)
class Merged:
    added: int  # rows of the frame that were not stored yet
    rows: int  # rows in the partition afterwards


class Store(ABC):
    """A partitioned store of typed frames plus keyed documents. Callers get one from ``open_store()``."""

    @abstractmethod
    def replace_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> int:
        """Make ``df`` the whole content of the (instrument, day) partition, atomically; return the rows written.

        ``df`` must conform to ``record`` and hold only rows of ``instrument`` whose time column falls inside ``day``.
        An empty ``df`` leaves no partition (as ``delete_partition``): a document store cannot hold an empty one.
        """

    @abstractmethod
    def merge_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> Merged:
        """Add the rows of ``df`` whose key the (instrument, day) partition does not hold yet, atomically; a stored row
        wins over a new row with its key, and of repeated keys in ``df`` the first wins, so merging the same rows
        again changes nothing. Creates the partition when missing. ``df`` must hold only rows of the partition."""

    @abstractmethod
    def read(
        self,
        collection: str,
        record: Record,
        instruments: list[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.DataFrame:
        """Rows of the partitions of ``instruments`` (all when None) from ``start`` to ``end`` (inclusive days, open
        ends when None), sorted by key; an empty frame of ``record`` when there are none."""

    @abstractmethod
    def partitions(self, collection: str) -> list[PartitionInfo]:
        """Every stored partition of the collection, sorted by (instrument, day)."""

    @abstractmethod
    def delete_partition(self, collection: str, instrument: str, day: date) -> int:
        """Remove the partition; return the rows removed (0 when there was none)."""

    @abstractmethod
    def collections(self) -> list[str]:
        """Names of the collections holding partitions or documents, sorted."""

    @abstractmethod
    def put_documents(self, collection: str, docs: list[dict], key_field: str) -> int:
        """Insert or replace documents identified by ``doc[key_field]``; return how many were written."""

    @abstractmethod
    def get_documents(self, collection: str, filters: dict | None = None) -> list[dict]:
        """Documents whose fields equal every ``filters`` item, sorted by key; [] for an unknown collection."""

    @abstractmethod
    def replace_graph(self, graph_id: str, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        """Make ``nodes`` (GRAPH_NODE) and ``edges`` (GRAPH_EDGE) the whole content of graph ``graph_id`` in the
        ``graph_nodes`` / ``graph_edges`` collections; every graph lives in the same two collections."""

    @abstractmethod
    def read_graph(self, graph_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(nodes sorted by node_id, edges sorted by key) of graph ``graph_id``; StoreError when it is not stored."""


def check_graph_id(graph_id: str) -> str:
    if not _GRAPH_ID.fullmatch(graph_id):
        raise StoreError(f"graph id {graph_id!r} is not allowed: use letters, digits, '_', '+', '.' or '-' (200 at most)")
    return graph_id


def check_collection(collection: str) -> str:
    if not _COLLECTION.fullmatch(collection):
        raise StoreError(
            f"collection name {collection!r} is not allowed: use a letter then letters, digits, '_' or '-' (64 at most)"
        )
    return collection


def check_instrument(instrument: str) -> str:
    """An instrument id is a partition name: its form (`streamforge.instruments`) is safe as a folder, file and
    ArangoDB key; anything else is refused before it reaches a path or a query."""
    try:
        return check_form(instrument)
    except ConfigError as exc:
        raise StoreError(f"partition name refused: {exc}") from None


def partition_frame(record: Record, instrument: str, day: date, df: pl.DataFrame) -> pl.DataFrame:
    """Conform ``df`` to ``record``, refuse rows that belong to another partition and non-finite floats, and sort
    it by key.

    Refusing strays matters: a partition is replaced and deleted by (instrument, day), so a stray row would either be
    lost on the next rewrite or survive a delete.
    """
    df = record.conform(df)
    check_instrument(instrument)
    lo, hi = day_bounds_us(day)
    t = pl.col(record.time_column).dt.epoch("us")
    strays = df.filter((pl.col(PARTITION_COLUMN) != instrument) | (t < lo) | (t >= hi))
    if strays.height:
        first = strays.row(0, named=True)
        raise StoreError(
            f"{strays.height} rows do not belong to partition {instrument} {day.isoformat()}, e.g. {PARTITION_COLUMN} "
            f"{first[PARTITION_COLUMN]} at {first[record.time_column]}; split the frame by {PARTITION_COLUMN} and "
            "UTC day first"
        )
    check_finite(df, f"partition {instrument} {day.isoformat()}")
    return df.sort(list(record.key))


def merge_frame(record: Record, instrument: str, day: date, df: pl.DataFrame) -> pl.DataFrame:
    """``partition_frame`` of ``df`` with one row per key, the first of each key in ``df``'s order."""
    first = record.conform(df).unique(list(record.key), keep="first", maintain_order=True)
    return partition_frame(record, instrument, day, first)


def row_key(record: Record) -> list[str]:
    """The key columns that tell a partition's rows apart (the partition column is the same in all of them)."""
    return [k for k in record.key if k != PARTITION_COLUMN]


def rows_to_add(record: Record, stored_keys: pl.DataFrame, df: pl.DataFrame) -> pl.DataFrame:
    """The rows of a ``merge_frame`` whose ``row_key`` is not among ``stored_keys`` (a frame of those columns)."""
    key = row_key(record)
    return df.join(stored_keys.select(key), on=key, how="anti").sort(list(record.key))


def check_finite(df: pl.DataFrame, where: str) -> None:
    """Refuse NaN and ±Infinity in any float column, lists and structs of floats included, naming the column."""
    for name in df.columns:
        bad = _non_finite(df[name])
        if bad:
            raise StoreError(
                f"{where}: column {name!r} holds {bad} NaN or infinite values; the store keeps only finite numbers "
                "(JSON, and so ArangoDB, has no NaN): fix or drop those rows before writing"
            )


def _non_finite(s: pl.Series) -> int:
    if s.dtype.is_float():
        return int((~s.is_finite()).sum())
    if isinstance(s.dtype, (pl.List, pl.Array)):
        return _non_finite(s.explode())
    if isinstance(s.dtype, pl.Struct):
        return sum(_non_finite(field) for field in s.struct.unnest().iter_columns())
    return 0


def check_finite_documents(collection: str, docs: list[dict], key_field: str) -> None:
    """Refuse documents holding NaN or ±Infinity anywhere, naming the document and the field."""
    for doc in docs:
        path = _non_finite_path(doc, "")
        if path is not None:
            raise StoreError(
                f"document {doc.get(key_field)!r} of collection {collection!r}: field {path} is NaN or infinite; the "
                "store keeps only finite numbers (JSON, and so ArangoDB, has no NaN): store null or a finite value"
            )


def _non_finite_path(value, path: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        children = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        children = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next((found for p, v in children if (found := _non_finite_path(v, p)) is not None), None)


def in_range(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)
