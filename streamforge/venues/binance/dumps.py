"""Binance's daily dump files (data.binance.vision layout): download, verify, cache, read.

A day of BTCUSDT aggTrades is one ~10-30 MiB zip instead of ~1,500 weighted REST requests, so dumps come first.
A file enters the cache only after its SHA-256 matched the published `.CHECKSUM`, by an atomic rename, so a file in
the cache is always a verified one and is reused without any download. Downloads go to `<file>.part` and an
interrupted one continues with an HTTP Range request instead of starting over.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
import zlib
from datetime import date
from pathlib import Path

import httpx
import polars as pl

from streamforge import settings
from streamforge.errors import ChecksumError, ExchangeError, MalformedDataError
from streamforge.venues.binance import parse
from streamforge.venues.retry import Backoff

_AGG_TRADES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-aggTrades-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_KLINES_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\w+)-(?P<day>\d{4}-\d{2}-\d{2})\.zip$")
_CHUNK = 1 << 20


def agg_trades_path(symbol: str, day: date) -> str:
    return f"data/spot/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day.isoformat()}.zip"


def klines_path(symbol: str, interval: str, day: date) -> str:
    return f"data/spot/daily/klines/{symbol}/{interval}/{symbol}-{interval}-{day.isoformat()}.zip"


class DumpClient:
    """Downloads daily dump files into a local cache that mirrors the dump URL paths."""

    def __init__(
        self,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
    ) -> None:
        self.base_url = (base_url or settings.get("STREAMFORGE_DUMP_URL")).rstrip("/")
        self.cache_dir = Path(cache_dir or settings.get("STREAMFORGE_DUMP_CACHE") or settings.home() / "dump-cache")
        self.retries = int(settings.get("STREAMFORGE_HTTP_RETRIES") if retries is None else retries)
        timeout = float(settings.get("STREAMFORGE_HTTP_TIMEOUT_S") if timeout_s is None else timeout_s)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

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
        return self._fetch(agg_trades_path(symbol, day))

    def klines(self, symbol: str, interval: str, day: date) -> Path | None:
        """The verified klines zip of the day; None when the exchange publishes none (404)."""
        return self._fetch(klines_path(symbol, interval, day))

    @staticmethod
    def read_agg_trades(path: Path) -> pl.DataFrame:
        """Parse a cached aggTrades zip (symbol and day from its name) into AGG_TRADE."""
        match = _name_match(_AGG_TRADES_NAME, path)
        data = _read_zip(path)
        trades = parse.agg_trades_from_csv(data, match["symbol"], date.fromisoformat(match["day"]), path.name)
        parse.check_sequence(trades, path.name)
        return trades

    @staticmethod
    def read_klines(path: Path) -> pl.DataFrame:
        """Parse a cached klines zip (symbol, interval and day from its name) into KLINE."""
        match = _name_match(_KLINES_NAME, path)
        data = _read_zip(path)
        day = date.fromisoformat(match["day"])
        return parse.klines_from_csv(data, match["symbol"], match["interval"], day, path.name)

    # --- download -----------------------------------------------------------------------------------------------

    def _fetch(self, path: str) -> Path | None:
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
            raise ChecksumError(f"{self.url(path)}.CHECKSUM is not '<sha256>  {name}': {response.text[:200]!r}")
        return fields[0].lower()

    def _get(self, path: str) -> httpx.Response | None:
        """GET a small file with retries; None on 404."""
        url = self.url(path)
        backoff = Backoff(url, self.retries, "STREAMFORGE_DUMP_URL")
        while True:
            try:
                response = self._http.get(path)
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code == 404:
                return None
            if response.status_code >= 500:
                backoff.failed(f"HTTP {response.status_code}")
                continue
            if response.status_code != 200:
                raise ExchangeError(f"GET {url}: HTTP {response.status_code}")
            return response

    def _download(self, path: str, part: Path) -> bool:
        """Stream the file into `part`, continuing what an earlier attempt left there; False on 404."""
        url = self.url(path)
        backoff = Backoff(url, self.retries, "STREAMFORGE_DUMP_URL")
        while True:
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                with self._http.stream("GET", path, headers=headers) as response:
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
                        for chunk in response.iter_bytes(_CHUNK):
                            out.write(chunk)
                    return True
            except httpx.TransportError as exc:
                backoff.failed(f"{type(exc).__name__}: {exc} (resuming from the bytes already received)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _name_match(pattern: re.Pattern, path: Path) -> dict[str, str]:
    match = pattern.match(path.name)
    if match is None:
        raise MalformedDataError(f"{path.name}: not a Binance dump file name ({pattern.pattern})")
    return match.groupdict()


def _read_zip(path: Path) -> bytes:
    """The one CSV inside a dump zip. A damaged archive is a ChecksumError (zip CRCs are checksums too)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != 1:
                raise MalformedDataError(f"{path.name}: expected one CSV in the zip, found {names}")
            return archive.read(names[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise ChecksumError(f"corrupt zip {path.name}: {exc}") from exc
