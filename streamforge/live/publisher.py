"""Micro-batched Arrow publishing of live rows to Kafka, within a bounded memory budget.

Every instrument's rows go to one Kafka partition of each topic, the one Kafka's default partitioner gives its id
(`bus.offsets.partition_for`), so all of an instrument's data is in one partition, in order. Rows are grouped by
(topic, Kafka partition, UTC day of the row) and every group is sent STREAMFORGE_LIVE_BATCH_MS after the oldest
buffered row arrived (sooner at STREAMFORGE_LIVE_BATCH_ROWS), as one Arrow batch (`streamforge.bus.codec`) holding
the rows of every instrument of that partition — each row names its instrument — with the headers `streamforge.day`
(a message never mixes two days), `streamforge.instruments` (which instruments it holds) and `streamforge.id_ranges`
(each one's first and last id), so a consumer can route a message to its cells by its headers alone. A message per
partition rather than per instrument: at hundreds of instruments, a message per instrument and topic every 20 ms
would be tens of thousands of messages a second, and the Kafka client's cost is per message. Encoding and sending
happen on a thread of their own, so a slow broker never blocks the WebSocket reader.

When Kafka is unavailable the producer retries in order (STREAMFORGE_LIVE_DELIVERY_TIMEOUT_S) and rows wait here:
back-pressure stops at this buffer. The exchange cannot be slowed down (pausing the socket only makes it drop us as
a slow consumer, losing data where nobody can say which), so the buffer is bounded by STREAMFORGE_LIVE_BUFFER_BYTES
and what does not fit is not published: it is logged loudly, counted, and its exact ids are appended to
`Unpublished.path` so a REST repair can fetch them later.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streamforge.bus import codec
from streamforge.bus.config import max_message_bytes
from streamforge.bus.offsets import partition_for
from streamforge.bus.topics import TopicSpec
from streamforge.errors import StreamForgeError
from streamforge.live.health import Metrics
from streamforge.schemas import INSTRUMENT, Record

log = logging.getLogger(__name__)
US_PER_DAY = 86_400_000_000
EPOCH = date(1970, 1, 1)


def id_field(record: Record) -> str:
    """The field that identifies a row in the unpublished-ids file: the record's integer id, else its time."""
    return codec.id_column(record) or record.time_column


class Unpublished:
    """Exact ids that did not reach Kafka, as JSON lines of contiguous ranges: what a REST repair must fetch."""

    def __init__(self, path: Path, metrics: Metrics) -> None:
        self.path, self.metrics = path, metrics
        self._lock = threading.Lock()
        self.rows = 0

    def record(self, topic: str, instrument: str, record: Record, ids: list[int], reason: str) -> None:
        if not ids:
            return
        ids = sorted(ids)
        ranges, start = [], ids[0]
        for previous, current in zip(ids, ids[1:]):
            if current != previous + 1:
                ranges.append((start, previous))
                start = current
        ranges.append((start, ids[-1]))
        self.record_ranges(topic, instrument, record, ranges, reason)

    def record_ranges(self, topic: str, instrument: str, record: Record, ranges: list[tuple[int, int]], reason: str) -> None:
        """Ranges [first, last] of ids, however long: a lost stretch is recorded in one line, never id by id."""
        column = codec.id_column(record) or record.time_column
        rows = sum(last - first + 1 for first, last in ranges)
        with self._lock:
            self.rows += rows
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                for first, last in ranges:
                    out.write(json.dumps({"topic": topic, INSTRUMENT: instrument, "record": record.name, "id_column": column,
                                          "first": first, "last": last, "reason": reason}) + "\n")
        self.metrics.unpublished.labels(topic).inc(rows)


@dataclass
class _Group:
    """Rows waiting to become one message: one topic, one Kafka partition, one day."""

    spec: TopicSpec
    partition: int
    day: str  # YYYY-MM-DD
    rows: list[dict] = field(default_factory=list)
    received_ns: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


class Publisher:
    def __init__(
        self,
        producer: KafkaProducer,
        metrics: Metrics,
        unpublished: Unpublished,
        budget_bytes: int,
        batch_ms: float,
        batch_rows: int,
        on_acked: Callable[[str, list[int]], None] | None = None,
    ) -> None:
        self.producer, self.metrics, self.unpublished = producer, metrics, unpublished
        self.budget_bytes, self.batch_s, self.batch_rows = budget_bytes, batch_ms / 1000, batch_rows
        self.on_acked = on_acked  # (topic, receive time in ns of each acknowledged row), e.g. for a benchmark
        self.pending_bytes = 0  # buffered here + handed to the producer and not yet acknowledged
        self.over_budget = False
        self._groups: dict[tuple[str, int, int], _Group] = {}
        self._partitions: dict[tuple[str, int], int] = {}  # (instrument, partitions) -> its partition
        self._days: dict[int, str] = {}  # day number since the epoch -> YYYY-MM-DD
        self._raw: list[tuple[str, bytes, bytes, list, int]] = []
        self._mutex = threading.RLock()  # the condition's lock, taken directly where nobody waits or is woken
        self._lock = threading.Condition(self._mutex)
        metrics.buffer_bytes.set_function(lambda: self.pending_bytes)
        self._closing = False
        self._due: float | None = None  # monotonic time by which what is buffered must be sent
        self._thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
        self._thread.start()

    # --- called from the loader's event loop

    def add(self, spec: TopicSpec, instrument: str, row: dict, time_us: int, size: int, received_ns: int) -> bool:
        """Queue one row (the fields of `spec.record`, naming `instrument`; times in µs); False when it did not fit
        the budget."""
        return self.add_rows(spec, instrument, [row], time_us, size, received_ns)

    def add_rows(self, spec: TopicSpec, instrument: str, rows: list[dict], time_us: int, size: int, received_ns: int) -> bool:
        """`add` for rows of one instrument and instant that travel together (a book snapshot's levels), `size` bytes
        each: one admission and one lock for all of them (every event takes this lock: it is the condition's own,
        taken directly, and the budget gauge is read when scraped rather than set here)."""
        partition = self._partitions.get((instrument, spec.partitions))
        if partition is None:
            partition = self._partitions[(instrument, spec.partitions)] = partition_for(instrument, spec.partitions)
        with self._mutex:
            admitted = self._admit(size * len(rows))
            if admitted:
                day = time_us // US_PER_DAY
                group = self._groups.get((spec.name, partition, day))
                if group is None:
                    text = self._days.get(day) or self._days.setdefault(day, (EPOCH + timedelta(days=day)).isoformat())
                    group = self._groups[(spec.name, partition, day)] = _Group(spec, partition, text)
                group.rows += rows
                group.received_ns += [received_ns] * len(rows)
                group.sizes += [size] * len(rows)
                self._arm(now_due=len(group.rows) >= self.batch_rows)
        if not admitted:
            self.unpublished.record(spec.name, instrument, spec.record, [row[id_field(spec.record)] for row in rows],
                                    "buffer budget exceeded")
        return admitted

    def add_raw(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> bool:
        """Queue one message as it is (dead letters carry the raw payload, not an Arrow batch)."""
        size = len(value) + sum(len(v) for _, v in headers)
        with self._mutex:
            admitted = self._admit(size)
            if admitted:
                self._raw.append((topic, key, value, headers, size))
                self._arm(now_due=False)
        if not admitted:
            log.error("dead letter for %s dropped: the Kafka buffer budget is exceeded", topic)
        return admitted

    def _arm(self, now_due: bool) -> None:
        """Under the lock: the first row after a send sets the next deadline, a full batch brings it forward."""
        if now_due or self._due is None:
            self._due = time.monotonic() + (0 if now_due else self.batch_s)
            self._lock.notify()

    def _admit(self, size: int) -> bool:
        """Under the lock: take `size` bytes of the budget, or say that they do not fit."""
        if self.pending_bytes + size > self.budget_bytes:
            if not self.over_budget:
                log.error(
                    "KAFKA BUFFER BUDGET EXCEEDED: %d bytes wait for Kafka (STREAMFORGE_LIVE_BUFFER_BYTES=%d); rows are "
                    "NOT published from now on and their ids are recorded in %s for a REST repair",
                    self.pending_bytes, self.budget_bytes, self.unpublished.path,
                )
            self.over_budget = True
            return False
        if self.over_budget and self.pending_bytes < self.budget_bytes // 2:
            log.warning("Kafka buffer back under budget (%d bytes pending); publishing again", self.pending_bytes)
            self.over_budget = False
        self.pending_bytes += size
        return True

    def close(self, timeout_s: float = 30) -> None:
        """Publish what is buffered and wait for the acknowledgements (bounded by `timeout_s`)."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._thread.join(timeout_s)
        try:
            self.producer.flush(timeout=timeout_s)
        except KafkaError as error:
            log.error("Kafka did not acknowledge everything before the loader stopped: %s", error)
        self.producer.close(timeout=1)

    # --- the publishing thread

    def _run(self) -> None:
        while True:
            with self._lock:
                # Wait for the deadline of the oldest buffered row, not a fixed pause after the last send, so
                # that the time spent encoding and sending does not add to every row's wait.
                while not self._closing and (self._due is None or time.monotonic() < self._due):
                    self._lock.wait(None if self._due is None else self._due - time.monotonic())
                self._due = None
                groups, self._groups = list(self._groups.values()), {}
                raw, self._raw = self._raw, []
                closing = self._closing
            for topic, key, value, headers, size in raw:
                self._send_raw(topic, key, value, headers, size)
            # Every message is encoded before the first is sent: each send wakes Kafka's network thread, whose every
            # turn scans all of the producer's partitions; handed over together, the messages share its turns.
            encoded = [sent for group in groups for sent in self._encode(group)]
            for group, message, rows in encoded:
                self._send_message(group, message, rows)
            if closing:
                return

    def _encode(self, group: _Group) -> list[tuple[_Group, codec.Message, slice]]:
        """The group's messages, each with the slice of its rows. Rows that cannot be encoded (a value the schema
        refuses, a row over the message bound) are recorded as unpublished like any other loss: the thread must
        outlive them."""
        messages, start = [], 0
        try:
            for message in batch_messages(group.spec, group.partition, group.day, group.rows):
                messages.append((group, message, slice(start, start + message.rows)))
                start += message.rows
        except (StreamForgeError, pa.ArrowException) as error:
            log.error("%d %s rows of %s[%d] %s could not be encoded: %s", len(group.rows) - start, group.spec.record.name,
                      group.spec.name, group.partition, group.day, error)
            self._release(sum(group.sizes[start:]))
            self._record_lost(group, group.rows[start:], f"not encodable: {error}")
        return messages

    def _record_lost(self, group: _Group, rows: list[dict], reason: str) -> None:
        id_at = id_field(group.spec.record)
        by_instrument: dict[str, list[int]] = {}
        for row in rows:
            by_instrument.setdefault(row[INSTRUMENT], []).append(row[id_at])
        for instrument, ids in by_instrument.items():
            self.unpublished.record(group.spec.name, instrument, group.spec.record, ids, reason)

    def _send_message(self, group: _Group, message: codec.Message, rows: slice) -> None:
        received, size = group.received_ns[rows], sum(group.sizes[rows])

        def acked(_ack) -> None:
            self._release(size)
            now = time.time_ns()
            self.metrics.publish_latency.observe((now - np.array(received, dtype=np.int64)) / 1e9)
            self.metrics.published_rows.labels(group.spec.name).inc(len(received))
            if self.on_acked:
                self.on_acked(group.spec.name, received)

        def failed(error) -> None:
            self._release(size)
            log.error("Kafka did not take %d %s rows of %s[%d] %s: %s", len(received), group.spec.record.name,
                      group.spec.name, group.partition, group.day, error)
            self._record_lost(group, group.rows[rows], f"kafka: {error}")

        self._send(group.spec.name, None, message.value, message.headers, acked, failed, group.partition)

    def _send_raw(self, topic: str, key: bytes, value: bytes, headers: list, size: int) -> None:
        def failed(error) -> None:
            self._release(size)
            log.error("Kafka did not take a message to %s: %s", topic, error)

        self._send(topic, key, value, headers, lambda _ack: self._release(size), failed)

    def _send(self, topic: str, key: bytes | None, value, headers, acked, failed, partition: int | None = None) -> None:
        """Hand one message to the producer (to `partition`, else where its key falls); while its buffer is full or
        the broker unknown, wait and try again (nothing was handed over, so trying again cannot duplicate it)."""
        while True:
            try:
                future = self.producer.send(topic, value=value, key=key, headers=headers, partition=partition)
                break
            except KafkaTimeoutError as error:
                if self._closing:
                    failed(error)
                    return
                time.sleep(0.1)
            except KafkaError as error:
                failed(error)
                return
        future.add_callback(acked)
        future.add_errback(failed)

    def _release(self, size: int) -> None:
        with self._mutex:
            self.pending_bytes -= size


def batch_messages(spec: TopicSpec, partition: int, day: str, rows: list[dict]):
    """The messages of one micro-batch: `rows` (the record's fields, µs times) of one Kafka partition and UTC day,
    each message with the headers that say which instruments and ids it holds."""
    ids = codec.id_column(spec.record)

    def headers(batch: pa.Table, first: int) -> list[tuple[str, bytes]]:
        part = rows[first : first + batch.num_rows]
        names = [row[INSTRUMENT] for row in part]
        if not ids:
            return codec.batch_headers(day, list(dict.fromkeys(names)), None)
        values = [row[ids] for row in part]
        # Each instrument's first and last id, in the order of its first row: dicts built in C, not a loop per row.
        last, first_of = dict(zip(names, values)), dict(zip(reversed(names), reversed(values)))
        return codec.batch_headers(day, list(last), [(first_of[name], value) for name, value in last.items()])

    return codec.encode_table(spec.record, table_of(spec.record, rows), max_message_bytes(), headers,
                              f"{spec.name}[{partition}] {day}")


def send_rows(producer: KafkaProducer, spec: TopicSpec, rows: list[dict], time_column: str) -> list:
    """Send `rows` as the live loader would (their instruments' partitions, one batch per partition and day) and
    return the futures: for tools that publish rows without a loader, such as tests and benchmarks."""
    groups: dict[tuple[int, int], list[dict]] = {}
    for row in rows:
        key = (partition_for(row[INSTRUMENT], spec.partitions), row[time_column] // US_PER_DAY)
        groups.setdefault(key, []).append(row)
    return [
        producer.send(spec.name, value=message.value, headers=message.headers, partition=partition)
        for (partition, day), part in groups.items()
        for message in batch_messages(spec, partition, (EPOCH + timedelta(days=day)).isoformat(), part)
    ]


def rows_of(frame: pl.DataFrame) -> list[dict]:
    """A frame of a record as the rows the publisher takes (times as µs integers)."""
    times = [pl.col(c).dt.epoch("us") for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    return list(frame.with_columns(times).iter_rows(named=True))


def table_of(record: Record, rows: list[dict]) -> pa.Table:
    """Rows (the record's fields, µs integer times) → an Arrow table of `record`: converted as one struct array, one
    pass in C over the dicts, then split into its columns. No polars frame (its construction and conversion back would
    cost more than encoding the micro-batch itself), and no conversion per column (at a few dozen rows a message,
    Arrow's cost per call was most of it)."""
    row_type = _row_types.get(record.name)
    if row_type is None:
        row_type = _row_types[record.name] = pa.struct(list(record.arrow))
    return pa.Table.from_arrays(pa.array(rows, type=row_type).flatten(), schema=record.arrow)


_row_types: dict[str, pa.StructType] = {}  # record name -> its row as an Arrow struct
