"""What every store promises, whichever backend holds the data.

A store keeps *partitions*: all rows of one record type for one instrument and one UTC day (a catalog cell), in a
named collection (``trades``, ``candles_1m``...). The pipeline writes a partition as a whole and rewrites it as a whole when it is
re-materialised, so the only write is :meth:`Store.replace_partition`, and it must never leave a partition half
written: readers see the old rows or the new ones. Rows are stored sorted by the record's key so that a rewrite of
the same data is the same stored content.

Trained models' records need plain keyed documents rather than partitions: :meth:`Store.put_documents` /
:meth:`Store.get_documents` cover that and nothing more. A market graph is neither (its nodes span instruments and days,
and it is rewritten as a whole per training window), so :meth:`Store.replace_graph` / :meth:`Store.read_graph` keep
every graph in two collections, ``graph_nodes`` and ``graph_edges``, told apart by a graph id.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date

import polars as pl

from streamforge import catalog
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError, StoreError
from streamforge.instruments import parse_instrument
from streamforge.schemas import INSTRUMENT, Record

# Both backends use these names on disk / as ArangoDB collection names, so they must be safe for both.
_COLLECTION = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_GRAPH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+.-]{0,199}")  # file names and ArangoDB keys allow all of these
GRAPH_NODES, GRAPH_EDGES = catalog.dataset(catalog.GRAPH_NODES).collection, catalog.dataset(catalog.GRAPH_EDGES).collection


@dataclass(frozen=True)
class PartitionInfo:
    instrument: str
    day: date
    rows: int


class Store(ABC):
    """A partitioned store of typed frames plus keyed documents. Callers get one from ``open_store()``."""

    @abstractmethod
    def replace_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> int:
        """Make ``df`` the whole content of the (instrument, day) partition, atomically; return the rows written.

        ``df`` must conform to ``record`` and hold only rows of ``instrument`` whose time column falls inside ``day``.
        An empty ``df`` leaves no partition (as ``delete_partition``): a document store cannot hold an empty one.
        """

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
        return parse_instrument(instrument).id
    except ConfigError as exc:
        raise StoreError(f"partition name refused: {exc}") from None


def partition_frame(record: Record, instrument: str, day: date, df: pl.DataFrame) -> pl.DataFrame:
    """Conform ``df`` to ``record``, refuse rows that belong to another partition, and sort it by key.

    Refusing strays matters: a partition is replaced and deleted by (instrument, day), so a stray row would either be
    lost on the next rewrite or survive a delete.
    """
    df = record.conform(df)
    check_instrument(instrument)
    lo, hi = day_bounds_us(day)
    t = pl.col(record.time_column).dt.epoch("us")
    strays = df.filter((pl.col(INSTRUMENT) != instrument) | (t < lo) | (t >= hi))
    if strays.height:
        first = strays.row(0, named=True)
        raise StoreError(
            f"{strays.height} rows do not belong to partition {instrument} {day.isoformat()}, e.g. instrument "
            f"{first[INSTRUMENT]} at {first[record.time_column]}; split the frame by instrument and UTC day first"
        )
    return df.sort(list(record.key))


def in_range(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)
