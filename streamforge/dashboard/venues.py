"""One asset across venues on the page: beside the instrument shown, the same asset's last price on the other venues
the dashboard sees, and how far apart they are in basis points.

Which instruments are the same asset is what the venues say (`MarketClient.pair`, the cross-venue view's rule in
`streamforge.cross_venue.counterparts`: same currencies, same kind of market, another venue), asked once per
instrument the views hold — never for a name a page sends — off the event loop, and again after RETRY_S when a venue
could not answer. Prices are the views' own: the close of each instrument's newest candle.
"""

from __future__ import annotations

import asyncio
import logging
import time

from streamforge import venues
from streamforge.cross_venue import Identity, counterparts
from streamforge.dashboard.views import Views
from streamforge.errors import StreamForgeError
from streamforge.instruments import market_of, parse_instrument

log = logging.getLogger(__name__)

LOOK_EVERY_S = 1.0
RETRY_S = 30.0


class AcrossVenues:
    def __init__(self, views: Views) -> None:
        self.views = views
        self.identities: dict[str, Identity] = {}
        self.unanswered: dict[str, str] = {}  # instrument -> why its venue did not say (asked again after RETRY_S)

    def peers(self, instrument: str) -> list[str]:
        return counterparts(instrument, self.identities) if instrument in self.identities else []

    def row(self, instrument: str) -> list[dict]:
        """[{instrument, price, diff_bps}] of the instrument and its peers with a price, the instrument first;
        diff_bps against the instrument's own price."""
        prices = {i: self.views.price(i) for i in [instrument, *self.peers(instrument)]}
        own = prices[instrument]
        return [
            {"instrument": i, "price": p, "diff_bps": None if own is None else round((p / own - 1) * 1e4, 2)}
            for i, p in prices.items()
            if p is not None
        ]

    async def identify_forever(self, urls: dict[str, str]) -> None:
        """Forever: ask each instrument's venue, once, which currencies it trades; `urls` override the settings."""
        clients, failed_at = venues.Clients(urls), {}
        try:
            while True:
                for instrument in self.views.instruments:
                    if instrument in self.identities or time.monotonic() - failed_at.get(instrument, -RETRY_S) < RETRY_S:
                        continue
                    try:
                        base, quote = await asyncio.to_thread(clients.of(instrument).pair, instrument)
                    except StreamForgeError as error:
                        log.warning("dashboard: %s's venue did not say its currencies (retrying in %.0f s): %s",
                                    instrument, RETRY_S, error)
                        failed_at[instrument], self.unanswered[instrument] = time.monotonic(), str(error)
                        continue
                    venue = parse_instrument(instrument).venue
                    self.identities[instrument] = Identity(venue, base, quote, market_of(instrument).kind)
                await asyncio.sleep(LOOK_EVERY_S)
        finally:
            clients.close()
