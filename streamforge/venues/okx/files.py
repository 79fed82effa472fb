"""OKX's daily trade files (static.okx.com): download, cache, read — one UTC+8 day of one instrument each.

OKX publishes no checksum beside its files (**unconfirmed**: none found), so what proves a file is its own content:
the zip's CRC32s (checked while unpacking), its one CSV with a header OKX uses, rows of the instrument inside the
file's UTC+8 day (`wire.FILE_DAY_ZONE`; a file cut anywhere else is refused, not reinterpreted), and, in the `trades`
asset, REST history-trades pages compared row by row where REST still reaches. A download lands in `<file>.part` and
enters the cache by an atomic rename only once it has been read whole that way, so a cached file is a sound one.

Memory and size are bounded like Binance's dumps (`venues.archive`), except that OKX says nothing of how many trades
a day has: the CSV may unpack to at most `MAX_UNPACK_RATIO` times its zip (trade CSVs deflate ~4-6×; a zip bomb
~1000×).
"""

from __future__ import annotations

import math
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import polars as pl

from streamforge import settings
from streamforge.errors import ExchangeError, MalformedDataError, ResponseTooLargeError
from streamforge.venues.archive import BYTES_PER_FIELD, csv_chunks
from streamforge.venues.bounded import ACCEPT_IDENTITY, Limits, bounded, transport
from streamforge.venues.okx import parse
from streamforge.venues.okx.listing import Listing
from streamforge.venues.okx.wire import FILE_DAY_ZONE, TRADE_COLUMNS, trades_file
from streamforge.venues.retry import Backoff

MAX_UNPACK_RATIO = 64


def file_day_bounds_ms(day: date) -> tuple[int, int]:
    """[start, end) in ms since the epoch of the UTC+8 day `day` a daily file holds."""
    start = datetime(day.year, day.month, day.day, tzinfo=FILE_DAY_ZONE)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


class TradeFiles:
    """Downloads daily trade files into a cache that mirrors the files URL's paths."""

    def __init__(self, base_url: str | None = None, cache_dir: str | Path | None = None, retries: int | None = None) -> None:
        self.base_url = (base_url or settings.get("STREAMFORGE_OKX_FILES_URL")).rstrip("/")
        self.cache_dir = Path(cache_dir or settings.get("STREAMFORGE_DUMP_CACHE") or settings.home() / "dump-cache")
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        self.limits = Limits(
            int(settings.get("STREAMFORGE_DUMP_MAX_BYTES")), float(settings.get("STREAMFORGE_HTTP_DEADLINE_S")),
            "STREAMFORGE_DUMP_MAX_BYTES",
        )
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S"))
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=ACCEPT_IDENTITY, transport=transport())

    def close(self) -> None:
        self._http.close()

    def url(self, listing: Listing, day: date) -> str:
        return f"{self.base_url}/{trades_file(listing.inst_id, day.isoformat())}"

    def day(self, listing: Listing, day: date) -> pl.DataFrame | None:
        """The trades of the UTC+8 day `day` (AGG_TRADE, file order); None when OKX publishes no file (404)."""
        path = trades_file(listing.inst_id, day.isoformat())
        target = self.cache_dir / "okx" / path
        if target.exists():
            return read_trades(target, listing, day)
        part = target.with_name(target.name + ".part")
        if not self._download(path, part):
            return None
        try:
            trades = read_trades(part, listing, day)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, target)
        return trades

    def _download(self, path: str, part: Path) -> bool:
        """The file into `part`; False on 404. A file longer than the byte limit is refused and what came deleted."""
        url = f"{self.base_url}/{path}"
        backoff = Backoff(url, self.retries, "STREAMFORGE_OKX_FILES_URL")
        part.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                with bounded(self._http, self._http.build_request("GET", path), self.limits) as answer:
                    status = answer.response.status_code
                    if status == 404:
                        return False
                    if status >= 500:
                        backoff.failed(f"HTTP {status}")
                        continue
                    if status != 200:
                        raise ExchangeError(f"GET {url}: HTTP {status} (a missing file is 404)")
                    with part.open("wb") as out:
                        for chunk in answer.chunks():
                            out.write(chunk)
                    return True
            except ResponseTooLargeError:
                part.unlink(missing_ok=True)
                raise
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc}")


def read_trades(path: Path, listing: Listing, day: date) -> pl.DataFrame:
    """A daily trades zip of the UTC+8 day `day` → AGG_TRADE in file order, every row inside that day (else refused:
    the day cut is an unconfirmed fact, and a file cut elsewhere must not be split as if it were not)."""
    name = path.name.removesuffix(".part")
    rows = math.ceil(path.stat().st_size * MAX_UNPACK_RATIO / (len(TRADE_COLUMNS) * BYTES_PER_FIELD)) + 1
    what = f"trades ({MAX_UNPACK_RATIO}× the zip's size at most)"
    chunks = csv_chunks(path, rows, len(TRADE_COLUMNS), what)
    trades = parse.trades_from_csv(chunks, listing.inst_id, listing.instrument, listing.contract_size, name)
    start, end = file_day_bounds_ms(day)
    times = trades["time"].dt.epoch("ms")
    outside = trades.filter((times < start) | (times >= end))
    if outside.height:
        raise MalformedDataError(
            f"{name}: trade {outside['agg_id'][0]} at {outside['time'][0]} is outside the file's day {day} in UTC+8 "
            f"([{_utc(start)}, {_utc(end)}) UTC), where OKX is taken to cut its daily files (okx.md: unconfirmed); "
            "refused rather than split at a guessed boundary"
        )
    return trades


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="minutes")
