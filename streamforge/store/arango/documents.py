"""What StreamForge data looks like inside ArangoDB: document keys, partition blocks, graph documents, and JSON.

A partition's rows are stored as *blocks*: one document per ``BLOCK_ROWS`` rows holding the record's columns as
arrays (times as integer µs; the partition column, the same in every row, once as an attribute)::

    {"_key": "binance.spot.BTCUSDT:2025-01-02:<write>:0", "instrument": "binance.spot.BTCUSDT", "day": "2025-01-02",
     "write": "<write id>", "seq": 0, "rows": 10000,
     "columns": {"agg_id": [...], "price": [...], "time": [...], ...}}

One document per row costs a JSON object per row and its index entries: a day of 1.4M aggTrades was ~390 MiB of
JSON in 1.4M documents. As blocks it is ~110 MiB in 144 documents, and a read builds frames from column arrays as
they arrive instead of a dict per row (bench/b10_arango_store.py). In AQL a block's rows are
``FOR i IN 0..(b.rows - 1) RETURN b.columns.price[i]``.

Keys: ArangoDB allows ``[A-Za-z0-9]`` and ``_-:.@()+,=;$!*'%`` in a ``_key`` of at most 254 bytes. Partition and
collection names are already inside that alphabet, so block and head keys are their names joined by ``:`` (which
neither may contain). A caller's document key may hold anything: ``document_key`` escapes it (below), and the
caller's key is kept in the ``sf_key`` attribute, which reads sort and look up by.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np
import orjson
import polars as pl

from streamforge.errors import StoreError
from streamforge.schemas import GRAPH_EDGE, GRAPH_NODE, TIME, Record
from streamforge.store.base import GRAPH_NODES, PARTITION_COLUMN

BLOCK_ROWS = 10_000  # rows per block document: ~0.7 MiB of JSON for aggregate trades
ROWS_PER_FRAME = 80_000  # a read builds a frame whenever this many rows have arrived
KEY_BYTES = 254  # ArangoDB's longest _key
CALLER_KEY = "sf_key"  # where a document keeps the key its caller gave it
# Kept as they are in a document key; every other byte of the UTF-8 key becomes !XX. '%' is legal in a _key but
# would need escaping in the document API's URLs, and '!' is the escape itself.
_KEEP = re.compile(r"[A-Za-z0-9_\-:.@()+,=;$*']+")
_HASHED = "!!"  # marks a key too long to escape: never produced by escaping, where '!' is followed by hex digits


def document_key(key: str) -> str:
    """The ``_key`` of the caller's ``key``: legal, at most 254 bytes, and distinct for distinct keys."""
    escaped = "".join(
        part if _KEEP.fullmatch(part) else "".join(f"!{b:02X}" for b in part.encode())
        for part in re.split(f"({_KEEP.pattern})", key)
        if part
    )
    if 0 < len(escaped) <= KEY_BYTES:
        return escaped
    digest = hashlib.sha256(key.encode()).hexdigest()
    return escaped[: KEY_BYTES - len(_HASHED) - len(digest)] + _HASHED + digest


def head_key(collection: str, instrument: str, day: date) -> str:
    """The key of a partition's head document (its current write, rows and lease)."""
    return f"{collection}:{instrument}:{day.isoformat()}"


def graph_head_key(graph_id: str) -> str:
    """The head document holding a graph's write lease (graph ids have no ':', so no partition head has this key)."""
    return f"{GRAPH_NODES}:{graph_id}"


def block_key(instrument: str, day: date, write: str, seq: int) -> str:
    return f"{instrument}:{day.isoformat()}:{write}:{seq}"


def _time_columns(record: Record) -> list[str]:
    return [c.name for c in record.columns if c.type == TIME]


def _json_values(s: pl.Series) -> np.ndarray | list:
    """A column as orjson serialises it fastest: a numpy array when it has no nulls and a numeric type."""
    if (s.dtype.is_numeric() or s.dtype == pl.Boolean) and not s.null_count():
        return s.to_numpy()
    return s.to_list()


def block_documents(
    record: Record, df: pl.DataFrame, instrument: str, day: date, write: str, first_seq: int = 0
) -> Iterator[dict]:
    """The blocks of a partition frame (conformed and sorted), numbered from ``first_seq``."""
    data = df.drop(PARTITION_COLUMN).with_columns(pl.col(_time_columns(record)).dt.epoch("us"))
    for seq, offset in enumerate(range(0, data.height, BLOCK_ROWS), start=first_seq):
        block = data.slice(offset, BLOCK_ROWS)
        yield {
            "_key": block_key(instrument, day, write, seq),
            PARTITION_COLUMN: instrument,
            "day": day.isoformat(),
            "write": write,
            "seq": seq,
            "rows": block.height,
            "columns": {name: _json_values(block[name]) for name in block.columns},
        }


def blocks_frame(record: Record, blocks: list[dict], names: list[str] | None = None) -> pl.DataFrame:
    """The rows of blocks as read back (``{instrument, day, rows, columns}``), in one frame with the record's types:
    ArangoDB returns a whole-number double as a JSON integer, so every column is built with its declared type, never
    inferred. One frame for many blocks, because building a frame costs about a millisecond whatever its size, and a
    partition filled by many small merges has many small blocks. ``names`` selects columns (a key-only read); all of
    the record's columns otherwise."""
    schema, times = record.polars, set(_time_columns(record))
    wanted = names or [n for n in record.names if n != PARTITION_COLUMN]
    values: dict[str, list] = {n: [] for n in wanted}
    for block in blocks:
        try:
            columns = [block["columns"][n] for n in wanted]
        except (KeyError, TypeError) as exc:
            raise StoreError(f"a stored block of {block.get(PARTITION_COLUMN)} {block.get('day')} lacks {record.name} "
                             f"v{record.version} column {exc}; rewrite the partition") from exc
        if any(len(c) != block["rows"] for c in columns):
            raise StoreError(f"a stored block of {block[PARTITION_COLUMN]} {block['day']} does not hold its "
                             f"{block['rows']} rows in every column; rewrite the partition")
        for n, column in zip(wanted, columns):
            values[n].extend(column)
    try:
        frame = pl.DataFrame(
            [pl.Series(n, values.pop(n), dtype=pl.Int64 if n in times else schema[n]) for n in wanted]
        ).with_columns(pl.col(n).cast(schema[n]) for n in wanted if n in times)
    except (TypeError, pl.exceptions.PolarsError) as exc:
        raise StoreError(f"stored blocks of {sorted({(b[PARTITION_COLUMN], b['day']) for b in blocks})} do not hold "
                         f"{record.name} v{record.version} columns {wanted}: {exc!r}; rewrite the partition") from exc
    if names is None:
        partition = pl.Series(PARTITION_COLUMN, [b[PARTITION_COLUMN] for b in blocks], dtype=pl.String)
        each_row = np.repeat(np.arange(len(blocks)), [b["rows"] for b in blocks])
        frame = frame.with_columns(partition.gather(each_row)).select(record.names)
    return frame


def decode_blocks(record: Record, blocks: Iterable[dict], names: list[str] | None = None) -> tuple[pl.DataFrame, Counter]:
    """``blocks_frame`` of blocks as they arrive (a cursor), a frame per ``ROWS_PER_FRAME`` rows, so only the last
    few blocks are ever held as JSON values; and the rows that came per (partition, day)."""
    frames, rows, pending, pending_rows = [], Counter(), [], 0
    for block in blocks:
        pending.append(block)
        pending_rows += block["rows"]
        rows[block[PARTITION_COLUMN], block["day"]] += block["rows"]
        if pending_rows >= ROWS_PER_FRAME:
            frames.append(blocks_frame(record, pending, names))
            pending, pending_rows = [], 0
    frames.append(blocks_frame(record, pending, names))
    return pl.concat(frames), rows


def graph_documents(record: Record, df: pl.DataFrame, graph_id: str, write_id: str) -> list[dict]:
    """Nodes or edges of one graph as documents: ``_key`` = graph id and node id (nodes) or graph id and the edge's
    record key (edges); edges also get ``_from`` / ``_to``, the ids of their nodes, so AQL can traverse them.
    (A graph id has at most 200 characters, so these keys stay within 254 bytes.)"""
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


def graph_frame(record: Record, docs: list[dict]) -> pl.DataFrame:
    """The inverse of ``graph_documents`` (bookkeeping fields already dropped): a frame conforming to ``record``."""
    if not docs:
        return record.empty()
    times = _time_columns(record)
    schema = {name: (pl.Int64 if name in times else dtype) for name, dtype in record.polars.items()}
    df = pl.DataFrame(docs, schema=schema)
    return record.conform(df.with_columns(pl.col(times).cast(pl.Datetime("us", "UTC"))))


def dumps(value) -> str:
    """JSON for a request body. orjson writes numpy arrays directly; its output is UTF-8, and requests sends a str
    body as Latin-1, so anything not ASCII goes through the standard library's escaping instead."""
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    if text.isascii():
        return text
    return json.dumps(value, allow_nan=False, default=lambda v: v.tolist())


loads = orjson.loads
