"""Micro-batched Arrow publishing of live rows to Kafka, within a bounded memory budget.

Rows are grouped by (topic, instrument, UTC day of the row) and every group is sent STREAMFORGE_LIVE_BATCH_MS after
the oldest buffered row arrived (sooner at STREAMFORGE_LIVE_BATCH_ROWS), each as one Arrow batch
(`streamforge.bus.codec`) keyed by the instrument, with the cell's partition-key header `<YYYY-MM-DD>|<instrument>`
(`catalog.cell_key`) — a message never mixes two days, so a consumer can route it to a daily partition by its
headers alone. Encoding and sending happen on a thread of their own, so
a slow broker never blocks the WebSocket reader.

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
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streamforge.bus import codec
from streamforge.bus.config import max_message_bytes
from streamforge.bus.topics import TopicSpec
from streamforge.errors import StreamForgeError
from streamforge.live.health import Metrics
from streamforge.catalog import cell_key
from streamforge.schemas import INSTRUMENT, TIME, Record

log = logging.getLogger(__name__)
US_PER_DAY = 86_400_000_000


def partition_key(time_us: int, instrument: str) -> str:
    return cell_key(instrument, datetime.fromtimestamp(time_us // US_PER_DAY * 86_400, UTC).date())


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
    """Rows waiting to become one message: one topic, one instrument, one day."""

    spec: TopicSpec
    instrument: str
    key: str  # the partition key header
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
        self._groups: dict[tuple[str, str, str], _Group] = {}
        self._raw: list[tuple[str, bytes, bytes, list, int]] = []
        self._lock = threading.Condition()
        self._closing = False
        self._due: float | None = None  # monotonic time by which what is buffered must be sent
        self._thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
        self._thread.start()

    # --- called from the loader's event loop

    def add(self, spec: TopicSpec, instrument: str, row: dict, time_us: int, size: int, received_ns: int) -> bool:
        """Queue one row (the fields of `spec.record`, times in µs); False when it did not fit the budget."""
        if not self._admit(size):
            self.unpublished.record(spec.name, instrument, spec.record, [row[id_field(spec.record)]], "buffer budget exceeded")
            return False
        key = partition_key(time_us, instrument)
        with self._lock:
            group = self._groups.get((spec.name, instrument, key))
            if group is None:
                group = self._groups[(spec.name, instrument, key)] = _Group(spec, instrument, key)
            group.rows.append(row)
            group.received_ns.append(received_ns)
            group.sizes.append(size)
            self._arm(now_due=len(group.rows) >= self.batch_rows)
        return True

    def add_raw(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> bool:
        """Queue one message as it is (dead letters carry the raw payload, not an Arrow batch)."""
        size = len(value) + sum(len(v) for _, v in headers)
        if not self._admit(size):
            log.error("dead letter for %s dropped: the Kafka buffer budget is exceeded", topic)
            return False
        with self._lock:
            self._raw.append((topic, key, value, headers, size))
            self._arm(now_due=False)
        return True

    def _arm(self, now_due: bool) -> None:
        """Under the lock: the first row after a send sets the next deadline, a full batch brings it forward."""
        if now_due or self._due is None:
            self._due = time.monotonic() + (0 if now_due else self.batch_s)
            self._lock.notify()

    def _admit(self, size: int) -> bool:
        with self._lock:
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
            self.metrics.buffer_bytes.set(self.pending_bytes)
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
            for group in groups:
                self._publish(group)
            if closing:
                return

    def _publish(self, group: _Group) -> None:
        """Send the group as one or more messages. Rows that cannot be encoded (a value the schema refuses, a row
        over the message bound) are recorded as unpublished like any other loss: the thread must outlive them."""
        id_at = id_field(group.spec.record)
        start = 0
        try:
            for message in codec.encode_arrow(group.spec.record, table_of(group.spec.record, group.rows), group.key,
                                              max_message_bytes()):
                self._send_message(group, message, slice(start, start + message.rows), id_at)
                start += message.rows
        except (StreamForgeError, pa.ArrowException) as error:
            log.error("%d %s rows of %s could not be encoded: %s", len(group.rows) - start, group.spec.record.name,
                      group.key, error)
            self._release(sum(group.sizes[start:]))
            self.unpublished.record(group.spec.name, group.instrument, group.spec.record,
                                    [row[id_at] for row in group.rows[start:]], f"not encodable: {error}")

    def _send_message(self, group: _Group, message: codec.Message, rows: slice, id_at: str) -> None:
        record = group.spec.record
        received, size = group.received_ns[rows], sum(group.sizes[rows])
        ids = [row[id_at] for row in group.rows[rows]]

        def acked(_ack) -> None:
            self._release(size)
            now = time.time_ns()
            latencies = [now - r for r in received]
            for latency in latencies:
                self.metrics.publish_latency.observe(latency / 1e9)
            self.metrics.published_rows.labels(group.spec.name).inc(len(received))
            if self.on_acked:
                self.on_acked(group.spec.name, received)

        def failed(error) -> None:
            self._release(size)
            log.error("Kafka did not take %d %s rows of %s: %s", len(ids), record.name, group.key, error)
            self.unpublished.record(group.spec.name, group.instrument, record, ids, f"kafka: {error}")

        self._send(group.spec.name, group.instrument.encode(), message.value, message.headers, acked, failed)

    def _send_raw(self, topic: str, key: bytes, value: bytes, headers: list, size: int) -> None:
        def failed(error) -> None:
            self._release(size)
            log.error("Kafka did not take a message to %s: %s", topic, error)

        self._send(topic, key, value, headers, lambda _ack: self._release(size), failed)

    def _send(self, topic: str, key: bytes, value, headers, acked, failed) -> None:
        """Hand one message to the producer; while its buffer is full or the broker unknown, wait and try again
        (nothing was handed over, so trying again cannot duplicate it)."""
        while True:
            try:
                future = self.producer.send(topic, value=value, key=key, headers=headers)
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
        with self._lock:
            self.pending_bytes -= size
            self.metrics.buffer_bytes.set(self.pending_bytes)


def table_of(record: Record, rows: list[dict]) -> pa.Table:
    """Rows (the record's fields, µs integer times) → an Arrow table of `record`, built column by column: no polars
    frame, whose construction and conversion back would cost more than encoding the micro-batch itself."""
    arrays = []
    for column in record.columns:
        values = [row[column.name] for row in rows]
        if column.type == TIME:
            arrays.append(pa.array(values, type=pa.int64()).cast(TIME))
        else:
            arrays.append(pa.array(values, type=column.type))
    return pa.Table.from_arrays(arrays, schema=record.arrow)
