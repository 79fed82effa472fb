"""A dump zip read as one day's CSV, in bounded memory, whatever the archive holds.

A checksum only proves that the file is the one the exchange published, not that it is sane, so nothing in the
archive is trusted:
- **One file.** A daily dump holds exactly one CSV. A zip with more than one file is refused, naming them: with two
  different CSVs for one day (binance-public-data #449) there is no right one to pick. Its table of contents is
  checked for size before it is read, so a zip claiming millions of files cannot fill memory either.
- **No more than the day can take.** The CSV is decompressed a chunk at a time and refused as soon as it exceeds
  `max_csv_bytes` or holds more rows than the day has (a 400 KiB zip can unpack to 400 MiB: a zip bomb), so memory
  stays at a chunk whatever the archive says, the caller parses chunk by chunk, and what it parses is at most the
  day's rows.

The rule for the most bytes a day can take: rows the day can have × fields per row × `BYTES_PER_FIELD`, plus
`SLACK_BYTES`. The rows come from the exchange (its agg id count for the day, from REST) or from the calendar (one
kline per interval). No field of a valid row is longer than 20 characters (int64 ids have 19 digits, µs times 16,
Binance prints decimals with 8 places), so 32 bytes a field is 1.6× the longest possible row and ~2.5× a real one
(a 2025 BTCUSDT aggTrades row takes ~90 bytes for 8 fields).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from streamforge.errors import ChecksumError, DumpArchiveError, shown

BYTES_PER_FIELD = 32
SLACK_BYTES = 1 << 16
CHUNK_BYTES = 16 << 20  # decompressed and parsed at a time
MAX_DIRECTORY_BYTES = 1 << 16  # a one-file dump's table of contents takes ~100 bytes
_END_OF_DIRECTORY = b"PK\x05\x06"
_END_RECORD_BYTES = 22
_NAMES_SHOWN = 5


def max_csv_bytes(rows: int, fields: int) -> int:
    """The most bytes the CSV of a day with at most `rows` rows of `fields` fields may take (the module's rule)."""
    return rows * fields * BYTES_PER_FIELD + SLACK_BYTES


def csv_chunks(path: Path, rows: int, fields: int, what: str) -> Iterator[bytes]:
    """The CSV inside the one-file zip `path`, in chunks that end at a line end (the last may not), holding at most
    `rows` rows of `fields` fields; `what` says what the rows are and where their number comes from, for the error.
    A damaged archive is a ChecksumError (zip CRCs are checksums too), one that is not one day's CSV a
    DumpArchiveError."""
    max_bytes = max_csv_bytes(rows, fields)
    try:
        _check_directory(path)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != 1:
                listed = ", ".join(shown(n, 100) for n in names[:_NAMES_SHOWN])
                more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
                raise DumpArchiveError(
                    f"{path.name} holds {len(names)} files ({listed}{more}), a daily dump holds one CSV; refused: "
                    "there is no telling which one is the day"
                )
            member = archive.infolist()[0]
            csv = f"{path.name}: {shown(member.filename, 100)}"
            too_big = f"{csv} unpacks to more than {max_bytes} bytes, the most {rows} {what} can take"
            if member.file_size > max_bytes:
                raise DumpArchiveError(f"{too_big} (it says {member.file_size}); refused without unpacking it")
            lines = 0
            for chunk in _chunks(archive, member, max_bytes, too_big):
                lines += chunk.count(b"\n")
                if lines > rows:
                    raise DumpArchiveError(f"{csv} holds more than the {rows} rows of {what}; refused")
                yield chunk
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise ChecksumError(f"corrupt zip {path.name}: {exc}") from exc


def _chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_bytes: int, too_big: str) -> Iterator[bytes]:
    """Decompress at most `max_bytes` (+1 to tell "more"), whatever the member's header claims."""
    carry, total = b"", 0
    with archive.open(member) as csv:
        while data := csv.read(CHUNK_BYTES):
            total += len(data)
            if total > max_bytes:
                raise DumpArchiveError(f"{too_big}; refused after unpacking that much")
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < CHUNK_BYTES:
                carry = data  # a line still incomplete: wait for its end (chunks stay whole rows)
                continue
            cut = cut or len(data)  # a "line" of a whole chunk is no row anyway: the parser will say so
            carry = data[cut:]
            yield data[:cut]
    if carry:
        yield carry


def _check_directory(path: Path) -> None:
    """Refuse a zip whose table of contents is larger than a one-file dump's, before zipfile reads all of it."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - _END_RECORD_BYTES - 0xFFFF))  # the end record may be followed by a comment
        tail = f.read()
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or len(tail) - at < _END_RECORD_BYTES:
        raise zipfile.BadZipFile("no end of central directory record")
    entries, directory_bytes = struct.unpack_from("<HI", tail, at + 10)
    if directory_bytes > MAX_DIRECTORY_BYTES:
        raise DumpArchiveError(
            f"{path.name} lists {entries if entries != 0xFFFF else 'at least 65535'} files in a {directory_bytes}-byte "
            f"table of contents, a daily dump holds one CSV; refused without reading it"
        )
