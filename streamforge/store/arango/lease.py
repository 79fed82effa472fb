"""One writer per partition in ArangoDB: a lease kept in the partition's head document.

The embedded store takes a ``flock``; a database shared by many hosts needs the same thing in the database. The
head document carries ``owner`` and ``until`` (server clock, ms). Every change to a head — taking the lease,
renewing it, committing a write (the *flip*), releasing — is one revision-checked single-document write (ArangoDB's
``If-Match``/``_rev`` precondition), which is atomic on a single server and in a cluster alike: of two writers that
read the same head, the second one's write fails with a revision conflict, re-reads, and waits. A writer renews its
lease while it writes; one that was killed stops renewing, and its lease lapses after ``ttl_s``. A writer that
stalled past its lease finds out at its next renewal or flip — the revision no longer matches — and fails without
making anything visible; the one that took over cleans up after it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from arango.database import StandardDatabase
from arango.errno import DOCUMENT_NOT_FOUND, UNIQUE_CONSTRAINT_VIOLATED
from arango.exceptions import ArangoError, DocumentInsertError, DocumentRevisionError, DocumentUpdateError

from streamforge.errors import StoreError
from streamforge.store.arango import aql

log = logging.getLogger(__name__)
_LONGEST_POLL_S = 1.0


@dataclass(frozen=True)
class Decision:
    """What a writer does about a head it has just read."""

    action: str  # "insert" (no head yet), "take" (free or lapsed) or "wait" (held)
    owner: str = ""  # the holder, when waiting
    until: int = 0  # when the holder's lease lapses unless renewed (server ms), when waiting


def decide(head: dict | None, now_ms: int) -> Decision:
    if head is None:
        return Decision("insert")
    if not head.get("owner") or head.get("until", 0) <= now_ms:
        return Decision("take")
    return Decision("wait", head["owner"], head["until"])


def poll_delay(polls: int) -> float:
    """Seconds between looks at a held lease: quick at first (most writes are short), then once a second."""
    return min(0.02 * 2**polls, _LONGEST_POLL_S)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """A held lease on one head document, with the head's content as of the last write."""

    def __init__(self, db: StandardDatabase, key: str, what: str, ttl_s: float, owner: str, head: dict, now_ms: int):
        self._heads, self.key, self.what, self.ttl_s, self.owner = db.collection(aql.HEADS), key, what, ttl_s, owner
        self.head = head
        self._clock = (now_ms, time.monotonic())  # server ms at a local instant: the server's clock without asking
        self._renewed = time.monotonic()

    @classmethod
    def take(cls, db: StandardDatabase, key: str, fields: dict, what: str, ttl_s: float) -> Lease:
        """Wait until the lease on head ``key`` is free or lapsed and take it; ``fields`` go into a new head."""
        owner, heads, polls = _owner(), db.collection(aql.HEADS), 0
        while True:
            text, bind = aql.head_and_now(key)
            found = next(iter(db.aql.execute(text, bind_vars=bind)))
            head, now = found["head"], found["now"]
            decision = decide(head, now)
            lease = {"owner": owner, "until": now + int(ttl_s * 1000)}
            try:
                if decision.action == "insert":
                    head = {"_key": key, **fields, "write": None, "blocks": 0, "rows": 0, **lease}
                    head["_rev"] = heads.insert(head)["_rev"]
                    return cls(db, key, what, ttl_s, owner, head, now)
                if decision.action == "take":
                    head = {**head, **lease, "_rev": heads.update({"_key": key, "_rev": head["_rev"], **lease})["_rev"]}
                    return cls(db, key, what, ttl_s, owner, head, now)
            except DocumentInsertError as exc:
                if exc.error_code != UNIQUE_CONSTRAINT_VIOLATED:
                    raise
                continue  # another writer created the head first: look again
            except (DocumentRevisionError, DocumentUpdateError) as exc:
                if isinstance(exc, DocumentUpdateError) and exc.error_code != DOCUMENT_NOT_FOUND:
                    raise
                continue  # the head changed (or went) since it was read: look again
            if polls == 10:
                log.info("%s is being written by %s; waiting (its lease lapses at %d unless renewed)", what,
                         decision.owner, decision.until)
            time.sleep(poll_delay(polls))
            polls += 1

    def server_now(self) -> int:
        at_ms, at = self._clock
        return at_ms + int((time.monotonic() - at) * 1000)

    def renew_if_due(self) -> None:
        """Extend the lease when a third of it has passed; called between a writer's requests."""
        if time.monotonic() - self._renewed >= self.ttl_s / 3:
            self._write({"until": self.server_now() + int(self.ttl_s * 1000)})
            self._renewed = time.monotonic()

    def flip(self, write: str | None, blocks: int, rows: int) -> None:
        """Make ``write``'s first ``blocks`` blocks the partition's content (None: no content) in one write."""
        self._write({"write": write, "blocks": blocks, "rows": rows})

    def release(self) -> None:
        """Give the lease up; a head without content goes with it. Best effort: the write the lease guarded has
        committed or failed already, and a lease that cannot be released (lost, or the server unreachable) lapses."""
        try:
            if self.head["write"] is None:
                self._heads.delete({"_key": self.key, "_rev": self.head["_rev"]}, check_rev=True)
            else:
                self._write({"owner": None, "until": 0})
        except (StoreError, ArangoError, OSError) as exc:
            log.warning("%s: its write lease was not released (%s); it lapses within %g s", self.what, exc, self.ttl_s)

    def _write(self, fields: dict) -> None:
        try:
            meta = self._heads.update({"_key": self.key, "_rev": self.head["_rev"], **fields}, check_rev=True)
        except (DocumentRevisionError, DocumentUpdateError) as exc:
            if isinstance(exc, DocumentUpdateError) and exc.error_code != DOCUMENT_NOT_FOUND:
                raise
            raise StoreError(
                f"{self.what}: this writer ({self.owner}) lost its lease to another writer after going "
                f"STREAMFORGE_ARANGO_LEASE_S={self.ttl_s:g} s without renewing it; nothing it wrote became visible, "
                "and the other writer's content stands — run it again if it should win"
            ) from exc
        self.head = {**self.head, **fields, "_rev": meta["_rev"]}
