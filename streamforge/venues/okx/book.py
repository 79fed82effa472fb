"""A local order book kept by OKX's `books` channel procedure (pure: no I/O, no clock).

OKX pushes a snapshot (`action` "snapshot", `prevSeqId` -1) right after the subscription, then updates, each naming
the `seqId` of the message before it (`prevSeqId`) [CCXTWS, capture]. The book follows the chain:

- a snapshot replaces the book and starts the chain at its `seqId`;
- an update whose `prevSeqId` is the book's `seqId` is applied (size "0" deletes the level); one whose `seqId` is not
  beyond the book's is old news (a repeat) and ignored, as is a keep-alive that changes nothing (`seqId` ==
  `prevSeqId` == the book's; **unconfirmed**); any other breaks the chain: updates were lost, so the book is discarded
  (`Outcome.GAP`) and waits for a snapshot;
- after every message a non-zero `checksum` is verified: CRC32 of the best 25 bids and asks as
  `bidPx:bidSz:askPx:askSz:...` (the longer side continuing alone), over the exact strings received, as a signed
  32-bit integer [SMM, ccxt PR #15213]. A mismatch discards the book too (`Outcome.CHECKSUM`). A checksum of 0 is "no
  checksum" — OKX sends 0 on every message since 2026-06-23 [N26] — never an error: the chain alone then proves it.

A book that lost its chain is never published: the loader publishes only a synced book. Besides the channel's own
snapshot, a REST snapshot (`/api/v5/market/books`, with its `seqId` [LOG]) can restart it: updates are buffered
meanwhile, those the snapshot already holds (`seqId` <= its id) are dropped, and the first kept one must straddle it
(`prevSeqId` <= snapshot id < `seqId`); a snapshot older than every buffered update is refused (fetch another).

Levels keep the exact price and size strings (for the checksum) and the size as a number; a swap's sizes are
contracts, so `top` gives base quantities: size × ctVal.
"""

from __future__ import annotations

import heapq
import zlib
from dataclasses import dataclass

from streamforge.live.feed import Book, BookUpdate, Outcome, Snapshot

CHECKSUM_LEVELS = 25
NO_CHECKSUM = 0

Level = tuple[str, str]  # (price, size) exactly as received


@dataclass(frozen=True)
class BookMessage:
    """One `books` push (or a REST snapshot), what the procedure needs of it."""

    action: str  # "snapshot" or "update"
    seq_id: int
    prev_seq_id: int
    checksum: int
    time_us: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True)
class TextSnapshot(Snapshot):
    """A REST snapshot that also keeps its levels' strings, so the book's checksums can be verified after it."""

    bid_text: tuple[Level, ...] = ()
    ask_text: tuple[Level, ...] = ()


def checksum(bids: list[Level], asks: list[Level], levels: int = CHECKSUM_LEVELS) -> int:
    """OKX's book checksum of the best `levels` bids (best first) and asks (best first)."""
    parts: list[str] = []
    for i in range(levels):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class OkxBook(Book):
    def __init__(self, instrument: str, contract_size: float | None, max_levels: int = 5000, max_buffered: int = 600) -> None:
        self.instrument, self.contract_size = instrument, contract_size
        self.max_levels, self.max_buffered = max_levels, max_buffered
        self._seq: int | None = None  # None: not synced
        self._time_us = 0
        self.bids: dict[float, Level] = {}
        self.asks: dict[float, Level] = {}
        self.buffer: list[BookUpdate] = []
        self._applied: list[BookUpdate] = []

    @property
    def synced(self) -> bool:
        return self._seq is not None

    @property
    def last_update_id(self) -> int | None:
        return self._seq

    @property
    def last_event_time_us(self) -> int:
        return self._time_us

    def add(self, update: BookUpdate) -> Outcome:
        message: BookMessage = update.update
        if message.action == "snapshot":
            self._reset()
            return self._apply(update)
        if not self.synced:
            self.buffer.append(update)
            if len(self.buffer) > self.max_buffered:
                del self.buffer[0]
            return Outcome.BUFFERED
        if message.seq_id <= self._seq:
            return Outcome.IGNORED  # a repeat, or a keep-alive (seqId == prevSeqId == the book's)
        if message.prev_seq_id != self._seq:
            self._reset()
            self.buffer.append(update)
            return Outcome.GAP
        return self._apply(update)

    def load(self, snapshot: Snapshot) -> bool:
        """Restart from a REST snapshot (a `TextSnapshot`), replaying the buffered updates that follow it."""
        last = snapshot.last_update_id
        if self.synced and last <= self._seq:
            return True  # the channel's own snapshot came first: the book is newer already
        newer = [u for u in self.buffer if u.update.seq_id > last]
        start = next((i for i, u in enumerate(newer) if u.update.prev_seq_id <= last), None)
        if newer and start is None:
            return False  # every buffered update is beyond the snapshot: it is too old
        text = snapshot if isinstance(snapshot, TextSnapshot) else None
        message = BookMessage(
            "snapshot", last, -1, NO_CHECKSUM, self._time_us,
            text.bid_text if text else tuple((repr(p), repr(q)) for p, q in snapshot.bids),
            text.ask_text if text else tuple((repr(p), repr(q)) for p, q in snapshot.asks),
        )
        self._reset()
        self._apply(BookUpdate(self.instrument, {}, self._time_us, message), record=False)
        pending = newer[start:] if newer else []
        for i, update in enumerate(pending):
            # The first straddles the snapshot (prevSeqId <= its id < seqId): it follows it by definition.
            outcome = self._apply(update) if i == 0 else self.add(update)
            if outcome in (Outcome.GAP, Outcome.CHECKSUM):
                self.buffer.extend(pending[i + 1:])
                break  # the book restarts; the caller sees `synced` is False and fetches again
        return True

    def top(self, levels: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The best `levels` bid and ask levels, best first, sizes in the base currency (prices are compared alone, as
        no two levels share one)."""
        factor, bids, asks = self.contract_size or 1.0, self.bids, self.asks
        return (
            [(price, float(bids[price][1]) * factor) for price in heapq.nlargest(levels, bids)],
            [(price, float(asks[price][1]) * factor) for price in heapq.nsmallest(levels, asks)],
        )

    def applied(self) -> list[BookUpdate]:
        done, self._applied = self._applied, []
        return done

    def text_top(self, levels: int = CHECKSUM_LEVELS) -> tuple[list[Level], list[Level]]:
        """The best levels as OKX sent them: what the checksum is computed over."""
        return (
            [level for _, level in heapq.nlargest(levels, self.bids.items())],
            [level for _, level in heapq.nsmallest(levels, self.asks.items())],
        )

    def _reset(self) -> None:
        self._seq = None
        self.bids.clear()
        self.asks.clear()
        self.buffer.clear()

    def _apply(self, update: BookUpdate, record: bool = True) -> Outcome:
        message: BookMessage = update.update
        for side, changes in ((self.bids, message.bids), (self.asks, message.asks)):
            for price_text, size_text in changes:
                price = float(price_text)
                if float(size_text) == 0:
                    side.pop(price, None)
                else:
                    side[price] = (price_text, size_text)
        if message.checksum != NO_CHECKSUM and checksum(*self.text_top()) != message.checksum:
            self._reset()
            return Outcome.CHECKSUM
        self._seq = message.seq_id
        self._time_us = max(self._time_us, message.time_us)
        if record:
            self._applied.append(update)
        for side, best_first in ((self.bids, True), (self.asks, False)):
            if len(side) > 2 * self.max_levels:
                for price in sorted(side, reverse=best_first)[self.max_levels:]:
                    del side[price]
        return Outcome.APPLIED
