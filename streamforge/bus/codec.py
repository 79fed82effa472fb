"""Frames of a `Record` as Kafka messages: compressed Arrow IPC batches, each under the message-size bound.

One message per trade costs a Python object, a JSON encode and a broker round of bookkeeping per row; one Arrow
batch of ~50k rows costs a few memcpys. Every message is a complete IPC stream (schema + one record batch), so any
single message decodes alone. The codec knows nothing about Kafka beyond the headers it attaches; frames.py moves
the messages.

Arrow-level compression (zstd by default, STREAMFORGE_KAFKA_ARROW_COMPRESSION) compresses each column buffer
separately. Measured here on 2M aggregate trades, zstd shrinks them to ~29% of their Arrow size, lz4 to ~55%, both
at several million rows/s; moving bytes through the client and broker costs far more, so fewer bytes wins
(bench/b1_kafka_io.py `variants`). Small batches are the exception: each column buffer is compressed on its own, so
a live micro-batch of a few dozen rows saves little and pays a codec call per buffer on both sides. Measured here on
a 40-row trade batch: zstd 3.6 -> 2.5 KB, but 270 µs to write and 240 µs to read, against 50 and 17 µs plain. Batches
under COMPRESS_FROM_BYTES therefore go uncompressed; readers need not know (the IPC stream says per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from streamforge import settings
from streamforge.errors import ConfigError, SchemaError
from streamforge.schemas import Record

RECORD = "streamforge.record"
VERSION = "streamforge.version"
ROWS = "streamforge.rows"
# A cell's message (the historical assets): the cell it holds and the first and last id of its rows.
PARTITION_KEY = "streamforge.partition_key"
FIRST_ID = "streamforge.first_id"
LAST_ID = "streamforge.last_id"
# A live micro-batch: the UTC day of all its rows, the instruments it holds (in the order of their first row) and,
# for records with an integer id, each one's first and last id (`first-last`, in the same order).
DAY = "streamforge.day"
INSTRUMENTS = "streamforge.instruments"
ID_RANGES = "streamforge.id_ranges"

# The headers of the rows [start, stop) of a table, for the message that carries them.
Headers = Callable[[pa.Table, int], list[tuple[str, bytes]]]

# Room left in each message for the Kafka record framing, the message key and batch header, so that the whole
# record — not only its value — stays under STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES.
ENVELOPE_BYTES = 512
# Arrow bytes from which a batch is compressed (see the module docstring).
COMPRESS_FROM_BYTES = 64 * 1024
# Aim a little under the bound when sizing the next batch from the last one, so a batch rarely needs re-encoding.
_FILL = 0.9


@dataclass(frozen=True)
class Message:
    """One Kafka message value with its headers; `value` is a view on Arrow's buffer, not a copy."""

    value: memoryview
    headers: list[tuple[str, bytes]]
    rows: int

    @property
    def size(self) -> int:
        """Bytes of value and headers, plus the envelope reserved for Kafka's framing and the key."""
        return len(self.value) + sum(len(k) + len(v) for k, v in self.headers) + ENVELOPE_BYTES


def id_column(record: Record) -> str | None:
    """The integer key column whose first/last values go into the headers (agg_id, final_update_id, ...), if any."""
    return next((c.name for c in record.columns if c.name in record.key and pa.types.is_integer(c.type)), None)


def _compression() -> str | None:
    codec = settings.get("STREAMFORGE_KAFKA_ARROW_COMPRESSION").lower()
    if codec not in ("zstd", "lz4", "none"):
        raise ConfigError(f"STREAMFORGE_KAFKA_ARROW_COMPRESSION={codec!r}; expected zstd, lz4 or none")
    return None if codec == "none" else {"lz4": "lz4_frame"}.get(codec, codec)


def encode(record: Record, df: pl.DataFrame, partition_key: str, max_bytes: int) -> Iterator[Message]:
    """Split `df` into messages of at most `max_bytes` each (see `Message.size`); an empty frame gives one message.
    The frame is conformed to `record` first, so a wrong column is refused here, before anything is sent."""
    return encode_arrow(record, record.conform(df).to_arrow().cast(record.arrow), partition_key, max_bytes)


def encode_arrow(record: Record, table: pa.Table, partition_key: str, max_bytes: int) -> Iterator[Message]:
    """`encode` for a table built with `record.arrow` as its schema: the messages of one cell, each with the cell's
    partition key and the first and last id of its rows."""
    ids = id_column(record)
    cell = [(PARTITION_KEY, partition_key.encode())]

    def headers(batch: pa.Table, start: int) -> list[tuple[str, bytes]]:
        if not (ids and batch.num_rows):
            return cell
        column = batch.column(ids)
        return cell + [(FIRST_ID, str(column[0].as_py()).encode()), (LAST_ID, str(column[-1].as_py()).encode())]

    return encode_table(record, table, max_bytes, headers, partition_key)


def encode_table(record: Record, table: pa.Table, max_bytes: int, headers: Headers, what: str) -> Iterator[Message]:
    """Messages of at most `max_bytes` holding `table` (built with `record.arrow` as its schema: a polars round trip
    would cost more than encoding a live micro-batch of a few dozen rows), each with the record's headers and those
    `headers(batch, start)` gives for its rows; `what` names the rows in errors.

    Rows per message start from the uncompressed row size and then follow the compressed size of the last batch, so
    the messages come out close to the bound; a batch that overshoots is re-encoded with fewer rows. Messages are
    yielded as they are encoded, so a producer sends one while Arrow compresses the next (Arrow releases the GIL).
    """
    if not table.schema.equals(record.arrow):
        raise SchemaError(f"{record.name} v{record.version}: a table with schema {table.schema} is not this record")
    nulls = [n for n in record.names if n not in record.nullable and table.column(n).null_count]
    if nulls:
        raise SchemaError(f"{record.name} v{record.version}: null values in non-nullable columns {nulls}")
    return _messages(record, table, max_bytes, headers, what)


def _messages(record: Record, table: pa.Table, max_bytes: int, headers: Headers, what: str) -> Iterator[Message]:
    compressed, plain = pa.ipc.IpcWriteOptions(compression=_compression()), pa.ipc.IpcWriteOptions()
    base_headers = [(RECORD, record.name.encode()), (VERSION, str(record.version).encode())]

    def message(batch: pa.Table, start: int) -> Message:
        sink = pa.BufferOutputStream()
        options = plain if _under(batch, COMPRESS_FROM_BYTES) else compressed
        with pa.ipc.new_stream(sink, record.arrow, options=options) as writer:
            writer.write_table(batch, max_chunksize=max(batch.num_rows, 1))
        extra = [(ROWS, str(batch.num_rows).encode())] + headers(batch, start)
        return Message(memoryview(sink.getvalue()), base_headers + extra, batch.num_rows)

    if table.num_rows == 0:
        yield message(table, 0)
        return
    rows = (table.num_rows if _under(table, max_bytes)
            else max(1, int(max_bytes * table.num_rows / max(table.nbytes, 1))))
    start = 0
    while start < table.num_rows:
        length = min(rows, table.num_rows - start)
        candidate = message(table.slice(start, length), start)
        size = candidate.size
        rows = max(1, int(length * _FILL * max_bytes / size))
        if size > max_bytes:
            if length == 1:
                raise ConfigError(
                    f"one {record.name} row of {what} encodes to {size} bytes, over "
                    f"STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES={max_bytes}; raise it (and the topic's max.message.bytes)"
                )
            rows = min(rows, length - 1)
            continue
        yield candidate
        start += length


def _under(table: pa.Table, size: int) -> bool:
    """Whether `table` holds fewer Arrow bytes than `size`. Its buffers' total size is an upper bound of its bytes
    that costs nothing, and answers for a live micro-batch; `nbytes`, which measures the range of every buffer that
    the table uses, takes 10 µs at a few dozen rows."""
    return table.get_total_buffer_size() < size or table.nbytes < size


def header(headers: Iterable[tuple[str, bytes]], name: str) -> str | None:
    return next((v.decode() for k, v in headers if k == name), None)


def batch_headers(day: str, instruments: list[str], id_ranges: list[tuple[int, int]] | None) -> list[tuple[str, bytes]]:
    """The headers of a live micro-batch (see `DAY`, `INSTRUMENTS`, `ID_RANGES`)."""
    headers = [(DAY, day.encode()), (INSTRUMENTS, ",".join(instruments).encode())]
    if id_ranges is not None:
        headers.append((ID_RANGES, ",".join(f"{first}-{last}" for first, last in id_ranges).encode()))
    return headers


def instruments(headers: Iterable[tuple[str, bytes]]) -> list[str]:
    """The instruments a live micro-batch holds, by its headers alone (no decoding)."""
    text = header(headers, INSTRUMENTS)
    return text.split(",") if text else []


def batches(record: Record, value: bytes, headers: list[tuple[str, bytes]]) -> list[pa.RecordBatch]:
    """One message's record batches, read in full: a message that is not `record`, or is corrupt, fails here alone
    (SchemaError names both records; pyarrow raises ArrowInvalid, a ValueError)."""
    found = (header(headers, RECORD), header(headers, VERSION))
    if found != (record.name, str(record.version)):
        raise SchemaError(
            f"message holds {found[0]} v{found[1]}, but the reader expects {record.name} v{record.version}"
        )
    reader = pa.ipc.open_stream(value)
    if not reader.schema.equals(record.arrow):
        raise SchemaError(f"message labelled {record.name} v{record.version} carries schema {reader.schema}")
    return list(reader)


def frame(record: Record, batches: list[pa.RecordBatch]) -> pl.DataFrame:
    """Record batches of `record` (from `batches`) as one frame: one conversion to polars however many messages."""
    return pl.from_arrow(pa.Table.from_batches(batches, schema=record.arrow))


def decode(record: Record, messages: Iterable[tuple[bytes, list[tuple[str, bytes]]]]) -> pl.DataFrame:
    """Concatenate `(value, headers)` messages into one frame of `record`; SchemaError names both records on mismatch."""
    return frame(record, [batch for value, headers in messages for batch in batches(record, value, headers)])
