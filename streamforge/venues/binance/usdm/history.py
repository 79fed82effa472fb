"""A day of a perpetual's data from the sources that have it: dump files first, REST within the exchange's reach.

Aggregate trades: the day's verified dump file; when the exchange publishes none (404) or it cannot be trusted
(checksum, corrupt or oversized zip), REST aggTrades — but only for a day they still reach (48 hours). A day in
neither source is an error naming the day and both reasons: an empty or partial day would look like a quiet market.
Within the reach, a dump file is also held against the exchange's own agg ids of the day and completed from REST
like spot's (a checksum-valid dump can end early); beyond it the day's candles are still checked field by field
against the exchange's klines, which a truncated file fails.

Funding: a completed month's settlements come from its monthly dump file, the current month's from REST.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from streamforge.errors import ChecksumError, DumpArchiveError, NotAvailableError
from streamforge.venues.binance.dumps import DumpClient
from streamforge.venues.binance.history import complete_from_rest, source_metadata
from streamforge.venues.binance.usdm import dumps as files
from streamforge.venues.binance.usdm.rest import UsdmRest


def load_agg_trades_day(rest: UsdmRest, dumps: DumpClient, symbol: str, day: date) -> tuple[pl.DataFrame, dict]:
    """The complete AGG_TRADE frame of a completed UTC day and metadata on its source (never partial data)."""
    rest.require_perpetual(symbol, trading=False)
    start, end = rest.completed_day(day)
    path_in_archive = files.agg_trades_path(symbol, day)
    dump_url = dumps.url(path_in_archive)
    within, since = rest.reaches_trades(day)
    try:
        path = dumps.fetch(path_in_archive)
        if path is not None:
            daily = rest.klines(symbol, "1d", start, end)
            frame = files.read_agg_trades(path, int(daily["trade_count"].sum()))
            if within:
                return complete_from_rest(rest, symbol, day, frame, rest.day_agg_ids(symbol, day), path.name, dump_url)
            return frame, source_metadata("dump", f"verified dump file {path.name}", dump_url, frame)
        reason = f"no dump file {path_in_archive.rsplit('/', 1)[-1]} (404)"
    except (ChecksumError, DumpArchiveError) as exc:
        reason = str(exc)
    if not within:
        raise NotAvailableError(
            f"{rest.instrument(symbol)} {day}: {reason}, and REST aggTrades reach back only to {since:%Y-%m-%d %H:%M} "
            f"UTC (STREAMFORGE_USDM_AGGTRADES_REACH_H={rest.reach.total_seconds() / 3600:g}): the day is in neither "
            "source"
        )
    frame = rest.agg_trades_day(symbol, day)
    return frame, source_metadata("rest", reason, f"{rest.base_url}{rest.AGG_TRADES}?symbol={symbol}", frame)


def load_funding_day(rest: UsdmRest, dumps: DumpClient, symbol: str, day: date) -> tuple[pl.DataFrame, dict]:
    """The day's funding settlements (FUNDING_RATE) and where they came from: the month's dump file once the month
    has ended and the file exists, else REST fundingRate."""
    start, end = rest.completed_day(day)
    this_month = _month_start(date(1970, 1, 1) + timedelta(microseconds=rest.server_time_us()))
    path = dumps.fetch(files.funding_path(symbol, day)) if _month_start(day) < this_month else None
    if path is not None:
        month = files.read_funding(path)
        times = month["funding_time"].dt.epoch("us")
        frame = month.filter((times >= start) & (times < end)).sort("funding_time")
        return frame, {"source": "dump", "url": dumps.url(files.funding_path(symbol, day)), "rows": frame.height}
    frame = rest.funding_rates(symbol, start, end)
    return frame, {"source": "rest", "url": f"{rest.base_url}/fapi/v1/fundingRate?symbol={symbol}", "rows": frame.height}


def _month_start(day: date) -> date:
    return day.replace(day=1)
