"""One day of aggregate trades, from the best source that is complete and verifiable.

The day's dump file is preferred (one download instead of ~1,500 weighted requests). When the exchange has none
(404) or its archive cannot be trusted (checksum mismatch, corrupt zip), REST aggTrades is the fallback, and the
returned metadata says which source was used and why, so a materialisation records where its data came from.
Malformed rows are different: they fail the day with the file or page and the row named, because switching source
would hide a problem someone has to look at.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from streamforge.errors import ChecksumError
from streamforge.venues.binance.dumps import DumpClient, agg_trades_path
from streamforge.venues.binance.rest import BinanceRest


def load_agg_trades_day(rest: BinanceRest, dumps: DumpClient, symbol: str, day: date) -> tuple[pl.DataFrame, dict]:
    """The complete AGG_TRADE frame of a completed UTC day and metadata on its source (never partial data)."""
    rest.require_trading(symbol)
    dump_url = dumps.url(agg_trades_path(symbol, day))
    try:
        path = dumps.agg_trades(symbol, day)
        if path is not None:
            frame = dumps.read_agg_trades(path)
            return frame, _metadata("dump", f"verified dump file {path.name}", dump_url, frame)
        reason = f"no dump file {dump_url.rsplit('/', 1)[-1]} (404)"
    except ChecksumError as exc:
        reason = str(exc)
    frame = rest.agg_trades_day(symbol, day)
    return frame, _metadata("rest", reason, f"{rest.base_url}/api/v3/aggTrades?symbol={symbol}", frame)


def _metadata(source: str, reason: str, url: str, frame: pl.DataFrame) -> dict:
    empty = frame.height == 0
    return {
        "source": source,
        "reason": reason,
        "url": url,
        "rows": frame.height,
        "first_id": None if empty else int(frame["agg_id"][0]),
        "last_id": None if empty else int(frame["agg_id"][-1]),
        "first_time": None if empty else frame["time"][0].isoformat(),
        "last_time": None if empty else frame["time"][-1].isoformat(),
    }
