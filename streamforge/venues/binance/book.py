"""A local order book kept exactly by Binance's documented procedure (pure: no I/O, no clock).

1. Buffer the diff events; 2. take a REST snapshot, fetched again while its lastUpdateId is below the first buffered
U; 3. drop buffered events with u <= lastUpdateId; 4. apply events in order: one with u below the book's id is
old news and ignored, one with U > id + 1 means events were lost, so the book is discarded and the procedure
restarts from step 1 with that event as the first buffered one. Applying an event sets each level to its quantity
(0 removes it) and moves the book to u. The first event after the snapshot therefore straddles it:
U <= lastUpdateId + 1 <= u.

The caller does the I/O: `add` says when a snapshot is needed, `load_snapshot` takes one.
"""

from __future__ import annotations

import enum
import heapq
from dataclasses import dataclass, field

from streamforge.venues.binance.events import DepthEvent


class Outcome(enum.Enum):
    APPLIED = "applied"
    BUFFERED = "buffered"  # waiting for a snapshot
    IGNORED = "ignored"  # older than the book
    GAP = "gap"  # events were lost: the book was discarded, a new snapshot is needed


@dataclass
class LocalBook:
    symbol: str
    max_levels: int = 5000  # levels kept per side: the snapshot knows no more, deeper diffs would only pile up
    last_update_id: int | None = None  # None: not synced
    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    buffer: list[DepthEvent] = field(default_factory=list)
    last_event_time_us: int = 0

    @property
    def synced(self) -> bool:
        return self.last_update_id is not None

    def add(self, event: DepthEvent) -> Outcome:
        if not self.synced:
            self.buffer.append(event)
            return Outcome.BUFFERED
        if event.final_update_id < self.last_update_id:
            return Outcome.IGNORED
        if event.first_update_id > self.last_update_id + 1:
            self.reset()
            self.buffer.append(event)
            return Outcome.GAP
        self._apply(event)
        return Outcome.APPLIED

    def reset(self) -> None:
        self.last_update_id = None
        self.bids.clear()
        self.asks.clear()
        self.buffer.clear()

    def load_snapshot(self, last_update_id: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> bool:
        """Start from a snapshot; False when it is older than the first buffered event (fetch another one)."""
        if self.buffer and last_update_id < self.buffer[0].first_update_id - 1:
            return False
        self.bids = {p: q for p, q in bids if q > 0}
        self.asks = {p: q for p, q in asks if q > 0}
        self.last_update_id = last_update_id
        pending, self.buffer = self.buffer, []
        for event in pending:
            if event.final_update_id <= last_update_id:
                continue
            if self.add(event) is Outcome.GAP:
                self.buffer.extend(e for e in pending if e.final_update_id > event.final_update_id)
                return True  # the book restarts; the caller sees `synced` is False and fetches again
        return True

    def _apply(self, event: DepthEvent) -> None:
        for side, changes in ((self.bids, event.bids), (self.asks, event.asks)):
            for price, qty in changes:
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.last_update_id = event.final_update_id
        self.last_event_time_us = max(self.last_event_time_us, event.event_time_us)
        for side, best_first in ((self.bids, True), (self.asks, False)):
            if len(side) > 2 * self.max_levels:
                for price in sorted(side, reverse=best_first)[self.max_levels:]:
                    del side[price]

    def top(self, n: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The best `n` bid and ask levels, best first."""
        return heapq.nlargest(n, self.bids.items()), heapq.nsmallest(n, self.asks.items())
