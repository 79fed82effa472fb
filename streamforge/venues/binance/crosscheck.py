"""REST pages to hold a day loaded from its dump file against.

A dump can pass its checksum and still disagree with the exchange for the same ids (binance-public-data #375:
archives re-uploaded later). Comparing a whole day would cost the ~1,500 requests the dump saved, so a few pages are
compared, spread over the day from its first id to its last: a re-upload that changed rows changes them in more places
than one (`checks.trades_match_exchange` says which ids differ).
"""

from __future__ import annotations

import polars as pl

from streamforge import settings
from streamforge.schemas import AGG_TRADE
from streamforge.venues.binance.rest import PAGE, BinanceRest


def rest_sample(rest: BinanceRest, symbol: str, trades: pl.DataFrame, pages: int | None = None) -> pl.DataFrame:
    """The exchange's aggTrades for `pages` pages of the day's ids (STREAMFORGE_DUMP_VERIFY_PAGES): the first page,
    the last, and the others evenly between; all of them when the day is that short."""
    pages = int(settings.get("STREAMFORGE_DUMP_VERIFY_PAGES")) if pages is None else pages
    if trades.is_empty() or pages < 1:
        return AGG_TRADE.empty()
    first, last = int(trades["agg_id"].min()), int(trades["agg_id"].max())
    span = last - first + 1
    if span <= pages * PAGE:
        return rest.agg_trades_between(symbol, first, last)
    starts = [first + (span - PAGE) * i // max(pages - 1, 1) for i in range(pages)]
    return pl.concat(rest.agg_trades_between(symbol, start, start + PAGE - 1) for start in starts)
