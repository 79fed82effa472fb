"""Short pauses of the cyclic garbage collector in long-running, latency-bound services (live loader, dashboard), and
few of them.

A full (generation 2) collection walks every object the collector tracks. Once started, the live loader holds ~80k,
nearly all of them made by importing its libraries and alive as long as the process. Walking them took 70-90 ms
while the loader's threads waited, and every event of bench B6 that waited more than 60 ms for Kafka fell inside
one of those passes (measured: 14 of 14 such 100 ms windows in 45 s). `gc.freeze()` moves what exists after
start-up out of the collector's reach, so later passes walk only what the service has made since.

The young generation is collected every YOUNG_COLLECTION containers made and not yet freed, not CPython's 700: the
live loader makes ~100k a second (rows, their levels, events), many of them alive for the 20 ms their micro-batch
waits, so a young collection every 700 walked and promoted most rows, and the promoted ones brought middle and full
collections too. Measured on bench/live_cost.py's workload over a minute: at 700, 2,627 young, 238 middle and 21 full
collections, 1.2 s spent collecting and full ones of up to 72 ms; at 10,000, 53 young and 4 middle ones, 0.19 s, the
longest 31 ms (and the event loop's CPU per event fell by a tenth). Cycles are still collected, just later.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION = 10_000


def freeze_startup_heap() -> None:
    """Collect once, then exempt every surviving object from later collections and collect the young generation
    less often; call when start-up is over."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
