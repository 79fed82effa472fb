"""Every AQL query the ArangoDB store runs, as (text, bind variables). Values always travel as bind variables,
never in the text; the attribute and collection names in the text are StreamForge's own constants.

Sorting is left to Python: ArangoDB orders strings by its ICU locale, the embedded store (and the Store contract)
by code point.
"""

from __future__ import annotations

from datetime import date

from streamforge.store.arango.documents import CALLER_KEY
from streamforge.store.base import PARTITION_COLUMN as P

HEADS = "streamforge_partitions"  # one head document per partition: its current write, blocks, rows and lease
Query = tuple[str, dict]


def head_and_now(key: str) -> Query:
    """A head document (null when missing) and the server's clock, in one round trip: leases expire by the server's
    clock, so writers on hosts whose clocks differ agree on when."""
    return "RETURN {head: DOCUMENT(@heads, @key), now: DATE_NOW()}", {"heads": HEADS, "key": key}


def heads(
    collection: str, instruments: list[str] | None = None, start: date | None = None, end: date | None = None
) -> Query:
    """The current heads of a collection's stored partitions (by the heads' persistent index on (collection,
    instrument, day): no scan of the data)."""
    text = "FOR h IN @@heads FILTER h.collection == @collection AND h.write != null "
    bind: dict = {"@heads": HEADS, "collection": collection}
    if instruments is not None:
        text += f"FILTER h.{P} IN @instruments "
        bind["instruments"] = list(instruments)
    if start is not None:
        text += "FILTER h.day >= @start "
        bind["start"] = start.isoformat()
    if end is not None:
        text += "FILTER h.day <= @end "
        bind["end"] = end.isoformat()
    return text + f'RETURN KEEP(h, "{P}", "day", "write", "blocks", "rows")', bind


def blocks(collection: str, current: list[dict], columns: list[str] | None = None) -> Query:
    """The blocks of the given heads' current writes: the rows readers see (a write's blocks past the head's count
    are an unfinished append, invisible). ``columns`` keeps only those columns (a key-only read)."""
    picked = "KEEP(b.columns, @columns)" if columns is not None else "b.columns"
    text = (
        f"FOR h IN @heads FOR b IN @@c FILTER b.{P} == h.{P} AND b.day == h.day AND b.write == h.write "
        f"AND b.seq < h.blocks RETURN {{{P}: b.{P}, day: b.day, rows: b.rows, columns: {picked}}}"
    )
    bind: dict = {"@c": collection, "heads": [{k: h[k] for k in (P, "day", "write", "blocks")} for h in current]}
    if columns is not None:
        bind["columns"] = columns
    return text, bind


def remove_stale_blocks(collection: str, instrument: str, day: date, write: str | None, blocks: int) -> Query:
    """Remove every block of the partition readers do not see: other writes' blocks (replaced, or left by a killed
    writer) and blocks past the head's count (an append killed before it was committed). Run under the lease."""
    return (
        f"FOR b IN @@c FILTER b.{P} == @instrument AND b.day == @day AND (b.write != @write OR b.seq >= @blocks) "
        "REMOVE b IN @@c",
        {"@c": collection, "instrument": instrument, "day": day.isoformat(), "write": write, "blocks": blocks},
    )


def documents(collection: str, filters: dict | None = None) -> Query:
    """Documents whose fields equal every filter item, as [caller's key, document without bookkeeping]."""
    text, bind = "FOR d IN @@c ", {"@c": collection, "drop": ["_key", "_id", "_rev", CALLER_KEY]}
    for i, (field, value) in enumerate((filters or {}).items()):
        text += f"FILTER d.@f{i} == @v{i} "
        bind[f"f{i}"], bind[f"v{i}"] = field, value
    return text + f"RETURN [d.{CALLER_KEY}, UNSET(d, @drop)]", bind


def graph_documents(collection: str, graph_id: str, drop: list[str]) -> Query:
    bind = {"@c": collection, "g": graph_id, "drop": drop}
    return "FOR d IN @@c FILTER d.graph_id == @g RETURN UNSET(d, @drop)", bind


def remove_other_graph_writes(collection: str, graph_id: str, write: str) -> Query:
    return (
        "FOR d IN @@c FILTER d.graph_id == @g AND d.sf_write != @write REMOVE d IN @@c",
        {"@c": collection, "g": graph_id, "write": write},
    )
