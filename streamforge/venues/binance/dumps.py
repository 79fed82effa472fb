"""Binance's daily dump files (data.binance.vision layout): download, verify, cache, read.

A day of BTCUSDT aggTrades is one ~10-30 MiB zip instead of ~1,500 weighted REST requests, so dumps come first.
A file enters the cache only after its SHA-256 matched the published `.CHECKSUM`, by an atomic rename, so a file in
the cache is always a verified one and is reused without any download. Downloads go to `<file>.part` and an
interrupted one continues with an HTTP Range request instead of starting over. Each request has an overall deadline
and a byte limit (`bounded`), and a verified file is still read as untrusted (`archive`): a checksum proves where a
file came from, not that it is sane.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from pathlib import Path

import httpx
import polars as pl

from streamforge import settings
from streamforge.errors import (
    ChecksumError,
    ConfigError,
    ExchangeError,
    MalformedDataError,
    ResponseTooLargeError,
    shown,
)
from streamforge.venues.binance import SPOT, parse
from streamforge.venues.archive import csv_chunks
from streamforge.venues.bounded import ACCEPT_IDENTITY, Answer, Limits, bounded, transport
from streamforge.venues.retry import Backoff

_AGG_TRADES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-aggTrades-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_KLINES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\w+)-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_INTERVAL = re.compile(r"(?P<count>[0-9]{1,2})(?P<unit>[smhdwM])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "M": 2_678_400}
_CHUNK = 1 << 20
CHECKSUM_MAX_BYTES = 4096  # `<sha256>  <file name>`: about a hundred bytes


def agg_trades_path(symbol: str, day: date) -> str:
    """The file's path under the dump URL (and the cache); the symbol must be a Binance spot symbol, which is safe in
    a path (a ConfigError naming it otherwise)."""
    SPOT.instrument(symbol)
    return f"data/spot/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day.isoformat()}.zip"


def klines_path(symbol: str, interval: str, day: date) -> str:
    """The file's path under the dump URL (and the cache); symbol and interval must be safe in a path."""
    SPOT.instrument(symbol)
    interval_s(interval)
    return f"data/spot/daily/klines/{symbol}/{interval}/{symbol}-{interval}-{day.isoformat()}.zip"


def interval_s(interval: str) -> int:
    match = _INTERVAL.fullmatch(interval)
    if match is None:
        raise ConfigError(f"kline interval {shown(interval)} is not one of Binance's (1s, 1m, 5m, 1h, 1d, 1w, 1M, ...)")
    return int(match["count"]) * _UNIT_S[match["unit"]]


class DumpClient:
    """Downloads dump files into a local cache that mirrors the dump URL paths (any Binance market's: the paths say
    which)."""

    def __init__(
        self,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        url_setting: str = "STREAMFORGE_DUMP_URL",
    ) -> None:
        self.url_setting = url_setting  # named in errors: where the URL that failed comes from
        self.base_url = (base_url or settings.get(url_setting)).rstrip("/")
        self.cache_dir = Path(cache_dir or settings.get("STREAMFORGE_DUMP_CACHE") or settings.home() / "dump-cache")
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S") if timeout_s is None else timeout_s)
        deadline_s = float(settings.get("STREAMFORGE_HTTP_DEADLINE_S"))
        self.limits = Limits(int(settings.get("STREAMFORGE_DUMP_MAX_BYTES")), deadline_s, "STREAMFORGE_DUMP_MAX_BYTES")
        self._checksum_limits = Limits(CHECKSUM_MAX_BYTES, deadline_s, "the most a .CHECKSUM file takes")
        # Zips are compressed already; asking for no encoding keeps Range offsets in the file's own bytes.
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=ACCEPT_IDENTITY, transport=transport())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DumpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def agg_trades(self, symbol: str, day: date) -> Path | None:
        """The verified aggTrades zip of the day; None when the exchange publishes none (404)."""
        return self.fetch(agg_trades_path(symbol, day))

    def klines(self, symbol: str, interval: str, day: date) -> Path | None:
        """The verified klines zip of the day; None when the exchange publishes none (404)."""
        return self.fetch(klines_path(symbol, interval, day))

    @staticmethod
    def read_agg_trades(path: Path, rows: int) -> pl.DataFrame:
        """Parse a cached aggTrades zip (symbol and day from its name) into AGG_TRADE. `rows` is the most the day
        can have (the exchange's agg id count for it): the CSV may take no more bytes than that many rows can."""
        match = name_match(_AGG_TRADES_NAME, path)
        what = "aggregate trades (the exchange's count for the day)"
        chunks = csv_chunks(path, rows, len(parse.AGG_TRADES.fields), what)
        instrument = SPOT.instrument(match["symbol"]).id
        return parse.agg_trades_from_csv(chunks, instrument, date.fromisoformat(match["day"]), path.name)

    @staticmethod
    def read_klines(path: Path) -> pl.DataFrame:
        """Parse a cached klines zip (symbol, interval and day from its name) into KLINE."""
        match = name_match(_KLINES_NAME, path)
        rows = -(-86_400 // interval_s(match["interval"]))  # klines that open during the day
        what = f"{match['interval']} klines (one per interval of the day)"
        chunks = csv_chunks(path, rows, len(parse.KLINES.fields), what)
        day = date.fromisoformat(match["day"])
        return parse.klines_from_csv(chunks, SPOT.instrument(match["symbol"]).id, match["interval"], day, path.name)

    # --- download -----------------------------------------------------------------------------------------------

    def fetch(self, path: str) -> Path | None:
        """The verified file at `path` under the dump URL, from the cache or downloaded; None on 404."""
        target = self.cache_dir / path
        if target.exists():
            return target
        expected = self._published_sha256(path)
        if expected is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        if not self._download(path, part):
            return None
        actual = _sha256(part)
        if actual != expected:
            part.unlink()
            raise ChecksumError(
                f"checksum mismatch for {target.name}: SHA-256 {actual}, published {expected} "
                f"({self.url(path)}.CHECKSUM); the download was deleted"
            )
        os.replace(part, target)
        return target

    def _published_sha256(self, path: str) -> str | None:
        """The SHA-256 in `<file>.CHECKSUM` (`<sha256>  <filename>`); None when there is no such file."""
        response = self._get(f"{path}.CHECKSUM")
        if response is None:
            return None
        fields = response.text.split()
        name = path.rsplit("/", 1)[-1]
        if len(fields) != 2 or fields[1] != name or not re.fullmatch(r"[0-9a-f]{64}", fields[0].lower()):
            raise ChecksumError(f"{self.url(path)}.CHECKSUM is not '<sha256>  {name}': {shown(response.text)}")
        return fields[0].lower()

    def _get(self, path: str) -> Answer | None:
        """GET a small file with retries; None on 404."""
        url = self.url(path)
        backoff = Backoff(url, self.retries, self.url_setting)
        while True:
            try:
                with bounded(self._http, self._http.build_request("GET", path), self._checksum_limits) as answer:
                    response = answer.read()
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc}")
                continue
            if response.status == 404:
                return None
            if response.status >= 500:
                backoff.failed(f"HTTP {response.status}")
                continue
            if response.status != 200:
                raise ExchangeError(f"GET {url}: HTTP {response.status}")
            return response

    def _download(self, path: str, part: Path) -> bool:
        """Stream the file into `part`, continuing what an earlier attempt left there; False on 404. A file longer
        than the byte limit is refused and what arrived of it deleted."""
        url = self.url(path)
        backoff = Backoff(url, self.retries, self.url_setting)
        while True:
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            request = self._http.build_request("GET", path, headers=headers)
            try:
                with bounded(self._http, request, self.limits) as answer:
                    response = answer.response
                    status = response.status_code
                    if status == 404:
                        return False
                    if status == 416:  # the part is already as long as the file: the checksum decides
                        return True
                    if status >= 500:
                        backoff.failed(f"HTTP {status}")
                        continue
                    if status not in (200, 206):
                        raise ExchangeError(f"GET {url}: HTTP {status}")
                    resumed = status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
                    with part.open("ab" if resumed else "wb") as out:
                        for chunk in answer.chunks(already=offset if resumed else 0):
                            out.write(chunk)
                    return True
            except ResponseTooLargeError:
                part.unlink(missing_ok=True)
                raise
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc} (resuming from the bytes already received)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def name_match(pattern: re.Pattern, path: Path) -> dict[str, str]:
    match = pattern.match(path.name)
    if match is None:
        raise MalformedDataError(f"{path.name}: not a Binance dump file name ({pattern.pattern})")
    return match.groupdict()

