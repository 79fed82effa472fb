"""One UTC day of an OKX instrument's trades, from its daily files where they exist and REST where it reaches.

The day cut is explicit. Our cells are UTC days; OKX's daily files are UTC+8 days (`files`): the file of day D holds
[D-1 16:00, D 16:00) UTC. So UTC day D is the part of file D from 00:00 UTC and the part of file D+1 before 24:00 UTC:

    UTC day D:            |00:00 ...................... 16:00 ........ 24:00|
    file D   (UTC+8 D):   ...16:00 (D-1) ................ 16:00|
    file D+1 (UTC+8 D+1):                                 |16:00 ................ 16:00 (D+1)

File D+1 ends at 16:00 UTC on D+1, so yesterday's second part is rarely published yet: REST history-trades fills it,
joined at the last trade of file D, which REST must return too, field for field — the seam is proved, not assumed.
Without file D (or with one whose archive is damaged), the whole day comes from REST; outside REST's reach (three
months) with a file missing, the day cannot be loaded and says so. Either way a day is complete or an error, never partial, and the metadata records the
sources, the files and the seam.

OKX's trade ids are ordered (it pages by them) but not documented contiguous, so completeness comes from how the
day is assembled — whole files, and REST pages chained by exclusive cursors down to a trade before the range — and
the `trades` asset checks what OKX does promise: ids strictly increasing with time, none twice, all in the day.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from streamforge.dates import day_bounds_us
from streamforge.errors import ChecksumError, ConfigError, DumpArchiveError, ExchangeError
from streamforge.schemas import AGG_TRADE
from streamforge.venues.okx.files import TradeFiles, file_day_bounds_ms
from streamforge.venues.okx.listing import Listing
from streamforge.venues.okx.rest import OkxRest
from streamforge.venues.okx.wire import HISTORY_TRADES


def trades_day(rest: OkxRest, files: TradeFiles, listing: Listing, day: date) -> tuple[pl.DataFrame, dict]:
    """The complete AGG_TRADE frame of a completed UTC day, oldest first, and metadata on where it came from."""
    start_ms, end_ms = (t // 1000 for t in day_bounds_us(day))
    now_ms = rest.server_time_ms()
    if end_ms > now_ms:
        raise ConfigError(f"{day} is not a completed UTC day on OKX's clock; a day's trades are loaded once it has ended")
    if listing.list_time_ms is not None and listing.list_time_ms >= end_ms:
        return AGG_TRADE.empty(), _metadata("none", f"{listing.instrument} was listed after {day}", [], AGG_TRADE.empty())

    try:
        first = files.day(listing, day)
        second_ends = file_day_bounds_ms(day + timedelta(days=1))[1]
        second = files.day(listing, day + timedelta(days=1)) if second_ends <= now_ms else None
        reason = f"no daily file {files.url(listing, day).rsplit('/', 1)[-1]} (404)"
    except (ChecksumError, DumpArchiveError) as exc:  # a damaged archive: REST, where it reaches, with the reason
        first, second, reason = None, None, str(exc)
    names = [files.url(listing, d) for d, f in ((day, first), (day + timedelta(days=1), second)) if f is not None]
    if first is not None:
        head = first.filter(pl.col("time").dt.epoch("ms") >= start_ms)
        if second is not None:
            frame = pl.concat([head, second.filter(pl.col("time").dt.epoch("ms") < end_ms)])
            seam = _seam(rest, listing, first, second, now_ms, names)
            return frame, _metadata("files", "two daily files (UTC+8 days) cover the UTC day", names, frame) | {"seam": seam}
        return _completed_from_rest(rest, listing, day, first, head, names, end_ms)
    try:
        rest.require_reach(start_ms, now_ms)
    except ConfigError as beyond:
        raise ConfigError(f"{listing.instrument} {day}: {reason}, and {beyond}") from None
    frame, _ = rest.trades_between(listing, start_ms, end_ms)
    return frame, _metadata("rest", reason, [f"{rest.base_url}{HISTORY_TRADES}?instId={listing.inst_id}"], frame)


def _completed_from_rest(
    rest: OkxRest, listing: Listing, day: date, first: pl.DataFrame, head: pl.DataFrame, names: list[str], end_ms: int
) -> tuple[pl.DataFrame, dict]:
    """The file's part of the day, then REST's trades after the file's last one up to the day's end."""
    file_end = file_day_bounds_ms(day)[1]
    if first.is_empty():
        frame, seam = rest.trades_between(listing, file_end, end_ms)
    else:
        last = first.tail(1)
        frame, seam = rest.trades_between(listing, file_end, end_ms, after_id=int(last["agg_id"][0]))
        if not seam.equals(last):
            found = seam.to_dicts() or "nothing (history began later)"
            raise ExchangeError(
                f"{names[0]} ends at trade {last.to_dicts()[0]}, but REST history-trades has {found} in its place: "
                "the file and REST do not join, the day is not loaded"
            )
    day_frame = pl.concat([head, frame])
    reason = f"the next daily file (UTC+8 {day + timedelta(days=1)}) is not published yet: its part of {day} from REST"
    filled = {"first_id": _id(frame, 0), "last_id": _id(frame, -1), "rows": frame.height}
    return day_frame, _metadata("files+rest", reason, names, day_frame) | {"filled_from_rest": [filled]}


def _seam(rest: OkxRest, listing: Listing, first: pl.DataFrame, second: pl.DataFrame, now_ms: int, names: list[str]) -> str:
    """Where REST still reaches, the trade OKX has just before the second file's first is the first file's last: no
    trade fell between two files (a file that ends early cannot be told by its ids, which need not be contiguous)."""
    if first.is_empty() or second.is_empty():
        return "not checked: a file without trades"
    try:
        rest.require_reach(int(first["time"].dt.epoch("ms")[-1]), now_ms)
    except ConfigError as beyond:
        return f"not checked: {beyond}"
    before = rest.trades_page(listing, after=int(second["agg_id"][0]), limit=1)
    if not before.equals(first.tail(1)):
        raise ExchangeError(
            f"{names[0]} ends at trade {first.tail(1).to_dicts()[0]}, but OKX's trade before the first of {names[1]} "
            f"is {before.to_dicts() or 'none'}: trades are missing between the files, the day is not loaded"
        )
    return f"checked against REST: trade {first['agg_id'][-1]} then {second['agg_id'][0]}"


def _id(frame: pl.DataFrame, at: int) -> int | None:
    return int(frame["agg_id"][at]) if frame.height else None


def _metadata(source: str, reason: str, urls: list[str], frame: pl.DataFrame) -> dict:
    empty = frame.height == 0
    return {
        "source": source,
        "reason": reason,
        "url": " ".join(urls),
        "rows": frame.height,
        "first_id": _id(frame, 0),
        "last_id": _id(frame, -1),
        "first_time": None if empty else frame["time"][0].isoformat(),
        "last_time": None if empty else frame["time"][-1].isoformat(),
        "day_cut": "UTC: files are UTC+8 days, split at 00:00 UTC",
    }
