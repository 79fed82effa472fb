"""The default store: Parquet files under ``STREAMFORGE_HOME/store``, one file per partition.

Layout: ``<root>/<collection>/instrument=<INSTRUMENT>/date=<YYYY-MM-DD>.parquet`` (hive-style folder names), so the
files are usable without StreamForge::

    pl.scan_parquet(f"{root}/trades/instrument=*/date=*.parquet", hive_partitioning=True)
    duckdb.sql(f"SELECT * FROM read_parquet('{root}/trades/instrument=*/date=*.parquet', hive_partitioning=true)")

Read with that glob, not the bare folder: the folders also hold lock files and, after a crash, stale temp files.

Why a partition is never seen half written: a new file is written under a hidden temp name in the same folder
(same filesystem), fsynced, then ``os.replace``d over the partition's name — a rename is atomic, so a reader (or a
run killed with SIGKILL at any instant) finds the old file or the new one, never a torn one. Temp names start with a
dot and end in ``.tmp``, so the glob above never matches them. Each partition has its own lock file (``flock``):
writers of *different* partitions never wait for each other, and a writer holding a partition's lock knows any temp
file of that partition is left over from a killed run and removes it.

Why rewrites are byte-identical: rows are sorted by key and written by pyarrow with the fixed settings in
``_PARQUET``, so the same rows give the same bytes — a re-materialisation that changed nothing changes no file.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from streamforge.errors import StoreError
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE, Record
from streamforge.store.base import (
    GRAPH_EDGES,
    GRAPH_NODES,
    Merged,
    PartitionInfo,
    Store,
    check_collection,
    check_finite,
    check_finite_documents,
    check_graph_id,
    check_instrument,
    in_range,
    merge_frame,
    partition_frame,
    row_key,
    rows_to_add,
)

# Part of the storage format: changing any of these changes the bytes of every rewritten partition.
_PARQUET = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    row_group_size=131_072,
    data_page_version="1.0",
    version="2.6",
)
_DOCUMENTS = "documents.json"
PARTITION_FOLDER = "instrument"  # hive-style: instrument=<id>/date=<day>.parquet


class EmbeddedStore(Store):
    def __init__(self, root: Path | str):
        self.root = Path(root)

    # --- partitions

    def replace_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> int:
        df = partition_frame(record, instrument, day, df)
        if df.height == 0:
            self.delete_partition(collection, instrument, day)
            return 0
        path = self._partition_path(collection, instrument, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            _write_partition(path, record, df)
        return df.height

    def merge_partition(self, collection: str, record: Record, instrument: str, day: date, df: pl.DataFrame) -> Merged:
        """Parquet cannot append: the partition file is rewritten with the new rows, under its lock."""
        df = merge_frame(record, instrument, day, df)
        path = self._partition_path(collection, instrument, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            stored = record.conform(pl.read_parquet(path)) if path.exists() else record.empty()
            new = rows_to_add(record, stored.select(row_key(record)), df)
            if new.height:
                _write_partition(path, record, pl.concat([stored, new]).sort(list(record.key)))
        return Merged(new.height, stored.height + new.height)

    def read(
        self,
        collection: str,
        record: Record,
        instruments: list[str] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.DataFrame:
        files = [
            path
            for instrument, day, path in self._partition_files(collection)
            if (instruments is None or instrument in instruments) and in_range(day, start, end)
        ]
        if not files:
            return record.empty()
        return record.conform(pl.read_parquet(files)).sort(list(record.key))

    def partitions(self, collection: str) -> list[PartitionInfo]:
        return [
            PartitionInfo(instrument, day, pq.read_metadata(path).num_rows)
            for instrument, day, path in self._partition_files(collection)
        ]

    def delete_partition(self, collection: str, instrument: str, day: date) -> int:
        path = self._partition_path(collection, instrument, day)
        if not path.parent.is_dir():
            return 0
        with _locked(path):
            if not path.exists():
                return 0
            rows = pq.read_metadata(path).num_rows
            path.unlink()
            _fsync_dir(path.parent)
        return rows

    def collections(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    # --- documents: one JSON object {key: document} per collection, replaced atomically like a partition

    def put_documents(self, collection: str, docs: list[dict], key_field: str) -> int:
        path = self.root / check_collection(collection) / _DOCUMENTS
        check_finite_documents(collection, docs, key_field)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            stored = _load_documents(path)
            stored.update({str(doc[key_field]): doc for doc in docs})
            text = json.dumps(stored, sort_keys=True, allow_nan=False)
            _replace_file(path, lambda tmp: tmp.write_text(text))
        return len(docs)

    def get_documents(self, collection: str, filters: dict | None = None) -> list[dict]:
        stored = _load_documents(self.root / check_collection(collection) / _DOCUMENTS)
        filters = filters or {}
        return [
            doc
            for _, doc in sorted(stored.items())
            if all(field in doc and doc[field] == value for field, value in filters.items())
        ]

    # --- graphs: <root>/graph_nodes/graph=<id>.parquet and <root>/graph_edges/graph=<id>.parquet

    def replace_graph(self, graph_id: str, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        """Each file is replaced atomically, edges first; both under the nodes file's lock, so two writers of one
        graph never interleave. (A reader racing a rewrite may pair new edges with old nodes for an instant; the
        only reader, the model asset, runs after the graph asset that writes.)"""
        paths = {GRAPH_NODES: self._graph_path(GRAPH_NODES, graph_id), GRAPH_EDGES: self._graph_path(GRAPH_EDGES, graph_id)}
        check_finite(nodes, f"graph {graph_id} nodes")
        check_finite(edges, f"graph {graph_id} edges")
        tables = {
            GRAPH_NODES: GRAPH_NODE.conform(nodes).sort("node_id").to_arrow().cast(GRAPH_NODE.arrow),
            GRAPH_EDGES: GRAPH_EDGE.conform(edges).sort(list(GRAPH_EDGE.key)).to_arrow().cast(GRAPH_EDGE.arrow),
        }
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(paths[GRAPH_NODES]):
            for name in (GRAPH_EDGES, GRAPH_NODES):
                _replace_file(paths[name], lambda tmp, t=tables[name]: pq.write_table(t, tmp, **_PARQUET))

    def read_graph(self, graph_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        nodes_path, edges_path = self._graph_path(GRAPH_NODES, graph_id), self._graph_path(GRAPH_EDGES, graph_id)
        if not nodes_path.exists() or not edges_path.exists():
            raise StoreError(f"graph {graph_id!r} is not in the store at {self.root}: materialise its `graph` partition")
        return GRAPH_NODE.conform(pl.read_parquet(nodes_path)), GRAPH_EDGE.conform(pl.read_parquet(edges_path))

    # --- paths

    def _graph_path(self, collection: str, graph_id: str) -> Path:
        return self.root / collection / f"graph={check_graph_id(graph_id)}.parquet"

    def _partition_path(self, collection: str, instrument: str, day: date) -> Path:
        folder = self.root / check_collection(collection) / f"{PARTITION_FOLDER}={check_instrument(instrument)}"
        return folder / f"date={day.isoformat()}.parquet"

    def _partition_files(self, collection: str) -> list[tuple[str, date, Path]]:
        """(instrument, day, path) of every partition file, sorted; the glob skips lock and temp files by design."""
        found = []
        for path in (self.root / check_collection(collection)).glob(f"{PARTITION_FOLDER}=*/date=*.parquet"):
            instrument = path.parent.name.removeprefix(f"{PARTITION_FOLDER}=")
            day = date.fromisoformat(path.name.removeprefix("date=").removesuffix(".parquet"))
            found.append((instrument, day, path))
        return sorted(found)


def _write_partition(path: Path, record: Record, df: pl.DataFrame) -> None:
    table = df.to_arrow().cast(record.arrow)
    _replace_file(path, lambda tmp: pq.write_table(table, tmp, **_PARQUET))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s own lock; while held, any temp file of ``path`` belongs to a dead writer and is removed."""
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for stale in path.parent.glob(f".{path.name}.*.tmp"):
                stale.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write(tmp)`` into a temp file next to ``path``, make it durable, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` survive a power loss, not only a process crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_documents(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise StoreError(f"document file {path} is not valid JSON ({exc}); restore it or delete it") from exc
