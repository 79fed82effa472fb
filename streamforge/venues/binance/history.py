"""One day of aggregate trades, from the best source that is complete and verifiable.

The day's dump file is preferred (one download instead of ~1,500 weighted requests). When the exchange has none
(404) or its archive cannot be trusted (checksum mismatch, corrupt zip, more than one file in it, more bytes than the
day can take), REST aggTrades is the fallback, and the returned metadata says which source was used and why, so a
materialisation records where its data came from.

A dump that passes its checksum can still end early (binance-public-data #354: on 2021-12-14 most symbols' files
stop at 09:29 UTC). So the day's agg ids are asked of REST first (its first trade, and the next trade after the day):
a dump lacking ids at either end is completed from REST before anything is returned, and the metadata says which ids
were filled (`source` "dump+rest", `filled_from_rest`). A dump holding ids outside the exchange's day is not trusted.

Malformed rows are different: they fail the day with the file or page and the row named, because switching source
would hide a problem someone has to look at.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from streamforge.dates import day_bounds_us
from streamforge.errors import ChecksumError, DumpArchiveError, ExchangeError
from streamforge.venues.binance import parse
from streamforge.venues.binance.dumps import DumpClient, agg_trades_path
from streamforge.venues.binance.http import BinanceHttp
from streamforge.venues.binance.rest import TRADING, BinanceRest


def load_agg_trades_day(rest: BinanceRest, dumps: DumpClient, symbol: str, day: date) -> tuple[pl.DataFrame, dict]:
    """The complete AGG_TRADE frame of a completed UTC day and metadata on its source (never partial data).

    A symbol the exchange still lists but no longer trades (BREAK: halted or delisted) is loaded like any other, so
    its days before the delisting are complete and a day after it is an empty frame whose metadata says why.
    """
    status = rest.require_listed(symbol).get("status")
    dump_url = dumps.url(agg_trades_path(symbol, day))
    try:
        path = dumps.agg_trades(symbol, day)
        if path is not None:
            ids = rest.day_agg_ids(symbol, day)
            frame = dumps.read_agg_trades(path, len(ids))
            return complete_from_rest(rest, symbol, day, frame, ids, path.name, dump_url)
        reason = f"no dump file {dump_url.rsplit('/', 1)[-1]} (404)"
    except (ChecksumError, DumpArchiveError) as exc:
        reason = str(exc)
    frame = rest.agg_trades_day(symbol, day)
    if frame.height == 0 and status != TRADING:
        reason += f"; {symbol} is not trading (status {status}): no trades on {day}"
    return frame, source_metadata("rest", reason, f"{rest.base_url}/api/v3/aggTrades?symbol={symbol}", frame)


def complete_from_rest(
    rest: BinanceHttp, symbol: str, day: date, dump: pl.DataFrame, ids: range, name: str, url: str
) -> tuple[pl.DataFrame, dict]:
    """The dump's trades with the ids it lacks at either end of the exchange's day fetched from REST (any Binance
    market's)."""
    held = range(int(dump["agg_id"][0]), int(dump["agg_id"][-1]) + 1) if dump.height else range(ids.start, ids.start)
    if held and (held.start < ids.start or held.stop > ids.stop):
        raise DumpArchiveError(
            f"{name} holds agg ids {_span(held)}, but the exchange's {day} is agg ids {_span(ids)}; the file is not "
            "trusted"
        )
    head, tail = range(ids.start, held.start), range(held.stop, ids.stop)
    holes = [hole for hole in (head, tail) if hole]
    if not holes:
        return dump, source_metadata("dump", f"verified dump file {name}", url, dump)
    fetched = {hole: rest.agg_trades_between(symbol, hole.start, hole.stop - 1) for hole in holes}
    frame = pl.concat([part for part in (fetched.get(head), dump, fetched.get(tail)) if part is not None])
    _check_complete(frame, ids, day, f"{name} completed from REST aggTrades")
    reason = (
        f"verified dump file {name} lacks agg ids {' and '.join(map(_span, holes))} of the exchange's {day} "
        f"({_span(ids)}); filled from REST"
    )
    filled = [{"first_id": h.start, "last_id": h.stop - 1, "rows": fetched[h].height} for h in holes]
    return frame, source_metadata("dump+rest", reason, url, frame) | {"filled_from_rest": filled}


def _check_complete(frame: pl.DataFrame, ids: range, day: date, source: str) -> None:
    """The completed day holds exactly the exchange's ids, in order, all inside the day."""
    if frame.height != len(ids):
        raise ExchangeError(f"{source}: {frame.height} trades, but the exchange's {day} has {len(ids)} ({_span(ids)})")
    parse.check_sequence(frame, source, first_id=ids.start)
    start, end = day_bounds_us(day)
    time_us = frame["time"].dt.epoch("us")
    outside = frame.filter((time_us < start) | (time_us >= end))
    if outside.height:
        raise ExchangeError(f"{source}: agg id {outside['agg_id'][0]} at {outside['time'][0]} is not in {day}")


def _span(ids: range) -> str:
    return f"{ids.start}..{ids.stop - 1}" if ids else "none"


def source_metadata(source: str, reason: str, url: str, frame: pl.DataFrame) -> dict:
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
