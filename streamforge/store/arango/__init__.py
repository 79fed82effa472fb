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

Why not one ArangoDB transaction per replace: a Stream Transaction is limited to 128 MiB (ArangoDB up to 3.12.3; 512
MiB from 3.12.4, per DB-Server in a cluster; ``--transaction.streaming-max-transaction-size``) and to at most 120 s
between its operations, and a RocksDB transaction's data must fit in memory until its commit — while a day of
trades is over 400 MiB as one JSON document per row, and a replace must also remove the day it replaces; a
transaction that size would fail by default and hold the server's memory where it did not. One big AQL query is no
way out: past ``--rocksdb.intermediate-commit-count``/``-size`` it commits in pieces. The head flip needs no
transaction at all: a single-document write is atomic in every deployment, cluster included.

One writer per partition: lease.py. Errors: every driver and network error becomes a StoreError naming the URL and
the setting to check (store.py). Listings and documents are sorted in Python, by code point.
"""

from streamforge.store.arango.store import MARKET_GRAPH, ArangoStore

__all__ = ["MARKET_GRAPH", "ArangoStore"]
