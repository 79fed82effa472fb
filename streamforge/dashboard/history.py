"""The chart's recent past: the exchange's closed 1-minute klines of the last STREAMFORGE_DASHBOARD_CANDLES minutes,
fetched once per instrument from its venue's REST API when the dashboard first shows that instrument.

The live topics only hold what the live loader published since it started, and a closed kline reaches them once a
minute: a dashboard opened beside a loader that just started would draw an empty chart. The exchange has the
history, and its klines are the same truth the live klines topic carries, so they go into the views like any
kline from Kafka (a minute the topic reports later replaces it with the same numbers). The still-open minute is
not asked for: trades build it.

Instruments are those the views hold (the page's default one and every one seen on the topics), never a name a page
asks for, so no browser can make the dashboard spend the exchange's request weight. An instrument whose history could
not be fetched is tried again after RETRY_S.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from streamforge import venues
from streamforge.dashboard import rows
from streamforge.dashboard.views import Views
from streamforge.errors import StreamForgeError

log = logging.getLogger(__name__)

MINUTE_US = 60_000_000
LOOK_EVERY_S = 1.0  # how often the views are looked at for instruments without history
RETRY_S = 30.0


async def fill_history(
    views: Views, urls: dict[str, str], minutes: int, ingest: Callable[[dict[str, rows.Delta]], None]
) -> None:
    """Forever: give every instrument of `views` its last `minutes` closed minutes once, through `ingest`; `urls`
    override the venues' URL settings."""
    clients = venues.Clients(urls)
    done: set[str] = set()
    failed_at: dict[str, float] = {}
    try:
        while True:
            for instrument in views.instruments:
                if instrument in done or time.monotonic() - failed_at.get(instrument, -RETRY_S) < RETRY_S:
                    continue
                end_us = time.time_ns() // 1000 // MINUTE_US * MINUTE_US  # the open minute's start: excluded
                try:
                    client = clients.of(instrument)
                    frame = await asyncio.to_thread(client.klines, instrument, "1m", end_us - minutes * MINUTE_US, end_us)
                except StreamForgeError as error:
                    log.warning("dashboard: no history for %s yet (retrying in %.0f s): %s", instrument, RETRY_S, error)
                    failed_at[instrument] = time.monotonic()
                    continue
                ingest(rows.klines(frame))
                done.add(instrument)
            await asyncio.sleep(LOOK_EVERY_S)
    finally:
        clients.close()
