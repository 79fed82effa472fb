"""A local order book kept exactly by Binance's documented spot procedure (pure: no I/O, no clock).

1. Buffer the diff events; 2. take a REST snapshot, fetched again while its lastUpdateId is below the first buffered
U; 3. drop buffered events with u <= lastUpdateId; 4. apply events in order: one with u below the book's id is
old news and ignored, one with U > id + 1 means events were lost, so the book is discarded and the procedure
restarts from step 1 with that event as the first buffered one. Applying an event sets each level to its quantity
(0 removes it) and moves the book to u. The first event after the snapshot therefore straddles it:
U <= lastUpdateId + 1 <= u.

Step 2 is read as "fetch again while no buffered event straddles the snapshot", not "while the *first* buffered one
is newer": a single event with a wild U at the head of the buffer (a corrupt or hostile message) would otherwise make
every snapshot look stale and the book would never sync. Events before the one that straddles are dropped, as step 3
drops older ones. A snapshot newer than every buffered event (REST answered ahead of the stream) is joined by the
first event that arrives after it and straddles it, as well as by one that continues it: on futures, whose rule
for later events is the `pu` chain, the straddling event's pu is older than the snapshot, and reading it as a gap
would resync the book each time REST is the faster of the two.

While a book waits for its snapshot (REST slow or away) it keeps only the newest `max_buffered` events: any snapshot
fetched later is newer than the ones dropped, which step 3 would drop anyway, and one that is not is refused and
fetched again (step 2). So waiting costs bounded memory, however long it lasts.
"""

from __future__ import annotations

import heapq

from streamforge.live.feed import Book, BookUpdate, Outcome, Snapshot
from streamforge.venues.binance.events import DepthEvent


class BinanceBook(Book):
    """What every Binance book procedure shares: buffering, levels, the snapshot and the applied diffs. A market's
    procedure says when a buffered event is older than a snapshot (`_stale`), which one straddles it (`_straddles`),
    and whether an event continues the book (`_continues`)."""

    def __init__(self, instrument: str, max_levels: int = 5000, max_buffered: int = 600) -> None:
        self.instrument = instrument
        self.max_levels = max_levels  # levels kept per side: the snapshot knows no more, deeper diffs would pile up
        self.max_buffered = max_buffered  # updates kept while waiting for a snapshot: a minute of 100 ms diffs
        self._last_update_id: int | None = None  # None: not synced
        self._from_snapshot = False  # synced, no event applied since the snapshot: the next may straddle it
        self._last_event_time_us = 0
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.buffer: list[BookUpdate] = []
        self._applied: list[BookUpdate] = []

    @property
    def synced(self) -> bool:
        return self._last_update_id is not None

    @property
    def last_update_id(self) -> int | None:
        return self._last_update_id

    @property
    def last_event_time_us(self) -> int:
        return self._last_event_time_us

    def add(self, update: BookUpdate) -> Outcome:
        if not self.synced:
            self.buffer.append(update)
            if len(self.buffer) > self.max_buffered:
                del self.buffer[0]
            return Outcome.BUFFERED
        event = update.update
        if event.final_update_id <= self._last_update_id:
            return Outcome.IGNORED
        last = self._last_update_id
        if not (self._continues(event, last) or self._from_snapshot and self._straddles(event, last)):
            self._reset()
            self.buffer.append(update)
            return Outcome.GAP
        self._apply(update)
        return Outcome.APPLIED

    def load(self, snapshot: Snapshot) -> bool:
        last = snapshot.last_update_id
        newer = [u for u in self.buffer if not self._stale(u.update, last)]
        start = next((i for i, u in enumerate(newer) if self._straddles(u.update, last)), None)
        if newer and start is None:
            return False  # no buffered event straddles the snapshot: it is too old
        self.bids = {p: q for p, q in snapshot.bids if q > 0}
        self.asks = {p: q for p, q in snapshot.asks if q > 0}
        self._last_update_id = last
        self._from_snapshot = True  # newer than every buffered event, it waits for one that straddles or continues it
        self.buffer = []
        pending = newer[start:] if newer else []
        if pending:  # the event that straddles starts the chain, whatever the rule for the ones after it
            self._apply(pending[0])
        for i, update in enumerate(pending[1:], start=1):
            if self.add(update) is Outcome.GAP:
                self.buffer.extend(pending[i + 1:])
                break  # the book restarts; the caller sees `synced` is False and fetches again
        return True

    def _stale(self, event, last: int) -> bool:
        raise NotImplementedError

    def _straddles(self, event, last: int) -> bool:
        raise NotImplementedError

    def _continues(self, event, last: int) -> bool:
        raise NotImplementedError

    def top(self, levels: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The best `levels` bid and ask levels, best first (prices are compared alone: half the time of comparing
        (price, qty) pairs, for the same order, as no two levels share a price)."""
        bids, asks = self.bids, self.asks
        return ([(price, bids[price]) for price in heapq.nlargest(levels, bids)],
                [(price, asks[price]) for price in heapq.nsmallest(levels, asks)])

    def applied(self) -> list[BookUpdate]:
        done, self._applied = self._applied, []
        return done

    def _reset(self) -> None:
        self._last_update_id = None
        self.bids.clear()
        self.asks.clear()
        self.buffer.clear()

    def _apply(self, update: BookUpdate) -> None:
        event = update.update
        for side, changes in ((self.bids, event.bids), (self.asks, event.asks)):
            for price, qty in changes:
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self._last_update_id = event.final_update_id
        self._from_snapshot = False
        self._last_event_time_us = max(self._last_event_time_us, event.event_time_us)
        self._applied.append(update)
        for side, best_first in ((self.bids, True), (self.asks, False)):
            if len(side) > 2 * self.max_levels:
                for price in sorted(side, reverse=best_first)[self.max_levels:]:
                    del side[price]


class SpotBook(BinanceBook):
    """Spot: events older than the snapshot have u <= lastUpdateId; the first applied one has U <= lastUpdateId + 1;
    every later one continues when its U is at most the book's id + 1."""

    def _stale(self, event: DepthEvent, last: int) -> bool:
        return event.final_update_id <= last

    def _straddles(self, event: DepthEvent, last: int) -> bool:
        return event.first_update_id <= last + 1

    def _continues(self, event: DepthEvent, last: int) -> bool:
        return event.first_update_id <= last + 1
