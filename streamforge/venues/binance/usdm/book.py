"""A local order book kept by Binance's documented USD-M futures procedure (pure: no I/O, no clock).

1. Buffer the `@depth@100ms` events; 2. take a REST snapshot (at most 1,000 levels); 3. drop buffered events with
u < lastUpdateId; 4. the first event applied must straddle the snapshot: U <= lastUpdateId <= u (spot's is
lastUpdateId + 1), whether it was buffered or arrives after a snapshot newer than every buffered one (then it may
also be the event right after the snapshot, pu == lastUpdateId); 5. every later event's `pu` must equal the previous
event's `u`, else events were lost: the book is discarded and the procedure restarts at 2 with that event buffered (a
GAP, which the loader counts). Unlike spot, U is normally *not* the previous u + 1 on futures (a capture: pu ==
previous u on every event, U == previous u + 1 on none), so spot's U-based rule would resync forever; only `pu` says
whether the chain holds. Buffering, levels and snapshots are every Binance book's (`binance.book.BinanceBook`).
"""

from __future__ import annotations

from streamforge.venues.binance.book import BinanceBook
from streamforge.venues.binance.usdm.events import FuturesDepth

MAX_SNAPSHOT_LEVELS = 1000


class FuturesBook(BinanceBook):
    def __init__(self, instrument: str, max_levels: int = MAX_SNAPSHOT_LEVELS, max_buffered: int = 600) -> None:
        super().__init__(instrument, max_levels, max_buffered)

    def _stale(self, event: FuturesDepth, last: int) -> bool:
        return event.final_update_id < last

    def _straddles(self, event: FuturesDepth, last: int) -> bool:
        return event.first_update_id <= last <= event.final_update_id

    def _continues(self, event: FuturesDepth, last: int) -> bool:
        return event.previous_final_update_id == last
