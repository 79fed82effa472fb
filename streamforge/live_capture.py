"""The live capture: what the live loaders published, read off a live topic by Kafka partition and offset range and
merged into the store, every instrument and day the range holds at once.

The loaders' contract (docs/dev/contracts.md, streamforge/live/publisher.py): each instrument's rows are in one Kafka
partition, in order, in Arrow micro-batches that hold several instruments of that partition and one UTC day, each
row naming its instrument. So the unit of reading is a Kafka partition, not an instrument: a range of offsets
[start, stop) of one partition holds a complete stretch of every instrument that lives there, and once every cell
(day, instrument) found in it is merged into the store (`Store.merge_partition`: rows not stored yet are added, a
repeated read changes nothing), the offset after the last message read can be committed. One consumer group
(STREAMFORGE_LIVE_GROUP) keeps those offsets, one per (topic, partition); the group has no members (readers
`assign()`), so an offset is committed only by whoever persisted what lies before it — the live sensors, after the
run that stored it succeeded.

A read of a partition stops at `stop` (the end offset the sensor saw) once it has taken the whole of what the fetch
that reached it returned: Tansu reports a batch's first offset + 1 as the end, and the rest of that batch comes in
the same fetch, so nothing published before the sensor looked is left for the next run. It also stops when the topic
has given nothing more for `idle_s`, or after `max_s` or `max_bytes`: a busy topic never keeps a run reading
forever, and the next run continues where this one stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streamforge import settings
from streamforge.bus import codec
from streamforge.catalog import Cell
from streamforge.errors import BusError
from streamforge.schemas import INSTRUMENT, Record


POLL_RECORDS = 1_000_000  # a fetch's records in one poll: a producer batch is never split between polls


def consumer_group() -> str:
    """The live capture's consumer group: one committed offset per (live topic, Kafka partition)."""
    return settings.get("STREAMFORGE_LIVE_GROUP")


@dataclass(frozen=True)
class ReadLimits:
    idle_s: float
    max_s: float
    max_bytes: int

    @classmethod
    def from_settings(cls) -> ReadLimits:
        return cls(
            idle_s=float(settings.get("STREAMFORGE_LIVE_READ_IDLE_S")),
            max_s=float(settings.get("STREAMFORGE_LIVE_READ_MAX_S")),
            max_bytes=int(settings.get("STREAMFORGE_LIVE_READ_MAX_BYTES")),
        )


@dataclass(frozen=True)
class Range:
    """Offsets [start, stop) of one Kafka partition to capture."""

    partition: int
    start: int
    stop: int

    def __str__(self) -> str:
        return f"{self.partition}:{self.start}-{self.stop}"


def parse_ranges(text: str) -> list[Range]:
    """The inverse of `", ".join(map(str, ranges))`."""
    ranges = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        partition, _, span = item.partition(":")
        start, _, stop = span.partition("-")
        ranges.append(Range(int(partition), int(start), int(stop)))
    return ranges


@dataclass(frozen=True)
class RangeRead:
    """What a read did in one Kafka partition: offsets `start` up to (excluding) `next`, all of it now in hand, and
    the Kafka timestamps of the oldest and newest message it read (ms; None when it read none)."""

    partition: int
    start: int
    next: int
    messages: int
    oldest_ms: int | None
    newest_ms: int | None


@dataclass(frozen=True)
class Capture:
    cells: dict[Cell, pl.DataFrame]  # the rows of each (day, instrument) found, one row per key, in arrival order
    reads: list[RangeRead]


def read_ranges(config: dict, topic: str, record: Record, ranges: list[Range], limits: ReadLimits) -> Capture:
    """Read `ranges` of `topic` with `assign()` (no group join), bounded by `limits`, and split the rows by cell."""
    try:
        consumer = KafkaConsumer(
            **config,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a start whose data aged out: from the oldest message still there
            allow_auto_create_topics=False,
            max_poll_records=POLL_RECORDS,
        )
    except KafkaError as exc:
        raise BusError(f"Kafka at {config['bootstrap_servers']} is unreachable: {exc}") from exc
    try:
        if not consumer.partitions_for_topic(topic):
            raise BusError(f"the live topic {topic} does not exist: start the live loader (`streamforge live`)")
        wanted = {TopicPartition(topic, r.partition): r for r in ranges if r.stop > r.start}
        consumer.assign(list(wanted))
        for tp, r in wanted.items():
            consumer.seek(tp, r.start)
        starts = {tp: consumer.position(tp) for tp in wanted}
        values, reads = _poll(consumer, wanted, starts, limits)
        rows = codec.decode(record, values)
        return Capture(_cells(record, rows), reads)
    except KafkaError as exc:
        raise BusError(f"reading {', '.join(map(str, ranges))} of {topic} on Kafka at {config['bootstrap_servers']} failed: {exc}") from exc
    finally:
        consumer.close()


def _poll(consumer: KafkaConsumer, wanted: dict[TopicPartition, Range], starts: dict[TopicPartition, int],
          limits: ReadLimits) -> tuple[list, list[RangeRead]]:
    position = dict(starts)
    counts = dict.fromkeys(wanted, 0)
    stamps: dict[TopicPartition, list[int]] = {tp: [] for tp in wanted}
    values, read_bytes = [], 0
    deadline = time.monotonic() + limits.max_s
    open_ = {tp for tp in wanted if position[tp] < wanted[tp].stop}
    while open_ and time.monotonic() < deadline and read_bytes < limits.max_bytes:
        batches = consumer.poll(timeout_ms=int(limits.idle_s * 1000))
        if not batches:
            break
        for tp, batch in batches.items():
            if tp not in open_:
                continue
            for message in batch:
                values.append((message.value, message.headers))
                read_bytes += len(message.value)
                counts[tp] += 1
                stamps[tp].append(message.timestamp)
                position[tp] = message.offset + 1
            if position[tp] >= wanted[tp].stop:
                open_.discard(tp)
                consumer.pause(tp)
    reads = [
        RangeRead(tp.partition, starts[tp], position[tp], counts[tp], min(stamps[tp], default=None), max(stamps[tp], default=None))
        for tp in wanted
    ]
    return values, reads


def _cells(record: Record, rows: pl.DataFrame) -> dict[Cell, pl.DataFrame]:
    """The rows of each (UTC day of the row's time, instrument), one per key: a producer's retry can have written a
    message twice."""
    if rows.is_empty():
        return {}
    day = pl.col(record.time_column).dt.date().alias("_day")
    unique = rows.unique(subset=list(record.key), keep="first", maintain_order=True)
    return {
        Cell(day_value, instrument): part.drop("_day")
        for (instrument, day_value), part in unique.with_columns(day).partition_by(INSTRUMENT, "_day", as_dict=True, maintain_order=True).items()
    }


def recent_instruments(config: dict, topic: str, positions: dict[int, int], lookback: int, budget_s: float) -> tuple[set[str], dict[int, int]]:
    """Instruments named by the messages (their `streamforge.instruments` header: nothing is decoded) that arrived in
    `topic` since `positions` ({partition: next offset}; a partition without one looks back `lookback` messages from
    its end), read for at most `budget_s`; returns the instruments and the new positions."""
    try:
        consumer = KafkaConsumer(**config, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    except KafkaError as exc:
        raise BusError(f"Kafka at {config['bootstrap_servers']} is unreachable: {exc}") from exc
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps, int(budget_s * 1000))
        for tp in tps:
            consumer.seek(tp, positions.get(tp.partition, max(0, ends[tp] - lookback)))
        seen, moved = set(), {}
        deadline = time.monotonic() + budget_s
        while tps and time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=int(max(0.0, min(1.0, deadline - time.monotonic())) * 1000))
            if not batches:
                break
            for tp, batch in batches.items():
                for message in batch:
                    seen.update(codec.instruments(message.headers))
                moved[tp.partition] = batch[-1].offset + 1
        return seen, positions | moved
    except KafkaError as exc:
        raise BusError(f"reading recent instruments of {topic} on Kafka at {config['bootstrap_servers']} failed: {exc}") from exc
    finally:
        consumer.close()
