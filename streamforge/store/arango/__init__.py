"""The ArangoDB store, chosen with ``STREAMFORGE_STORE=arangodb``: the same contract as the embedded store
(streamforge/store/base.py) on a database that many hosts share.

Layout. A partition's rows live in its collection as *blocks* of columnar arrays (documents.py), and each partition
has a *head* document in ``streamforge_partitions`` naming its current write, how many of that write's blocks
count, its rows, and its write lease. Readers read the heads, then exactly the blocks they name.

Atomic replace. A replace writes all its blocks under a fresh write id — invisible, since no head names it — then
*flips* the head to the new write in one single-document write, and only then removes the old write's blocks. A
writer killed at any instant leaves the old head, so readers see the old rows, and ``partitions()`` (which lists
heads) never reports a half-written partition; the next writer of the partition removes what the killed one left.
A merge appends blocks to the current write and flips the head's block count, so it is atomic the same way without
sending the stored rows again. A reader whose blocks were removed under it by a flip (it counts fewer rows than its
head promised) reads again.

Why not one ArangoDB Stream Transaction per replace: its size is capped — 128 MiB by default up to ArangoDB 3.12.3,
512 MiB from 3.12.4, per DB-Server (``--transaction.streaming-max-transaction-size``) — with at most 120 s between
its operations, and its writes are held in the server's memory until the commit. A busy day is ~145 MiB of JSON even
as blocks (1.9M aggTrades; ~390 MiB for 1.4M as one document per row), and a replace also removes the day it
replaces: it does not fit the default cap of 3.12.3 and earlier, and leaves little headroom on later servers — for a
guarantee the head flip gives without any transaction, since a single-document write is atomic in every deployment,
cluster included. One big AQL query is no way out either: past ``--rocksdb.intermediate-commit-count``/``-size`` it
commits in pieces.

One writer per partition: lease.py. Errors: every driver and network error becomes a StoreError naming the URL and
the setting to check (errors.py). The queries: aql.py. Listings and documents are sorted in Python, by code point.
"""

from streamforge.store.arango.store import MARKET_GRAPH, ArangoStore

__all__ = ["MARKET_GRAPH", "ArangoStore"]
