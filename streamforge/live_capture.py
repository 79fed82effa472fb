"""The live capture: what the live loader published for one cell (day, instrument), read off the live topic and
merged into the store, a little more on every run.

The loader's contract (streamforge/live/publisher.py): Arrow batches from `codec.encode_arrow`, keyed by instrument
(so one instrument's messages are all in one Kafka partition, in order), each with the cell's partition-key header
`<day>|<instrument>` (`catalog.cell_key`) of the one UTC day its rows belong to. That partition also holds other
instruments and, around midnight, two days of this one, so a read keeps the messages whose header names its own cell
and steps over the rest.

Where a read starts, in order of preference:
1. where the previous read of the same cell stopped (the caller passes it, from the last materialisation);
2. the instrument's consumer-group offset, committed only after a run persisted what it read (see `PartitionRead.resume`);
3. the beginning of the partition.
A read ends when the topic has given nothing more for `idle_s`, or after `max_s` or `max_bytes`: a busy topic never
keeps a run reading forever, and the next run continues from where this one stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import polars as pl
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streamforge import settings
from streamforge.bus import codec
from streamforge.bus.offsets import partition_for
from streamforge.catalog import CELL_SEPARATOR, cell_key
from streamforge.errors import BusError
from streamforge.schemas import Record


def consumer_group(instrument: str) -> str:
    """One group per instrument, because one Kafka partition interleaves several instruments and a group offset can
    only say how far *one* reader got: `<STREAMFORGE_LIVE_GROUP>.<instrument>`."""
    return f"{settings.get('STREAMFORGE_LIVE_GROUP')}.{instrument}"


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
class Position:
    """Where the previous read of a cell stopped in one Kafka partition."""

    offset: int
    later_from: int | None = None


@dataclass(frozen=True)
class PartitionRead:
    """What one read did in one Kafka partition: offsets `start` up to (excluding) `next`.

    `later_from` is the first offset seen (in this read or an earlier one of the same cell) holding a *later* day of
    the instrument: those rows are not persisted by this cell, so the group offset must not pass them.
    """

    partition: int
    start: int
    next: int
    messages: int
    matching: int
    later_from: int | None

    @property
    def resume(self) -> int:
        """The offset that is safe to commit once this read's rows are persisted: every message of the instrument before
        it is stored, so the first read of a new day may start there."""
        return self.next if self.later_from is None else self.later_from


@dataclass(frozen=True)
class Capture:
    rows: pl.DataFrame
    reads: dict[int, PartitionRead]


def read_capture(
    config: dict,
    topic: str,
    record: Record,
    instrument: str,
    day: date,
    resume: dict[int, Position],
    limits: ReadLimits,
) -> Capture:
    """Read the new messages of the cell from `topic` with `assign()` (no group join), bounded by `limits`."""
    wanted = cell_key(instrument, day)
    try:
        consumer = KafkaConsumer(
            **config,
            group_id=consumer_group(instrument),  # only for its committed offset: assign() never joins the group
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # no committed offset, or one whose data is gone: from the beginning
            allow_auto_create_topics=False,
        )
    except KafkaError as exc:
        raise BusError(f"Kafka at {config['bootstrap_servers']} is unreachable: {exc}") from exc
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise BusError(f"the live topic {topic} does not exist: start the live loader (`streamforge live`)")
        tp = TopicPartition(topic, partition_for(instrument, len(partitions)))
        consumer.assign([tp])
        previous = resume.get(tp.partition)
        if previous is not None:
            consumer.seek(tp, previous.offset)
        start = consumer.position(tp)
        later_from = previous.later_from if previous is not None else None
        values, messages, read_bytes, position = [], 0, 0, start
        deadline = time.monotonic() + limits.max_s
        while time.monotonic() < deadline and read_bytes < limits.max_bytes:
            batch = consumer.poll(timeout_ms=int(limits.idle_s * 1000)).get(tp, [])
            if not batch:
                break
            for message in batch:
                messages, read_bytes, position = messages + 1, read_bytes + len(message.value), message.offset + 1
                holder = codec.header(message.headers, codec.PARTITION_KEY) or ""
                if holder == wanted:
                    values.append((message.value, message.headers))
                elif later_from is None and holder.endswith(f"{CELL_SEPARATOR}{instrument}") and holder > wanted:
                    later_from = message.offset
                if read_bytes >= limits.max_bytes:
                    break
        read = PartitionRead(tp.partition, start, position, messages, len(values), later_from)
        return Capture(codec.decode(record, values), {tp.partition: read})
    except KafkaError as exc:
        raise BusError(f"reading {wanted} from {topic} on Kafka at {config['bootstrap_servers']} failed: {exc}") from exc
    finally:
        consumer.close()


def recent_keys(config: dict, topic: str, positions: dict[int, int], lookback: int, budget_s: float) -> tuple[set[str], dict[int, int]]:
    """Message keys seen in `topic` since `positions` ({partition: next offset}; a partition without one looks back
    `lookback` messages from its end), read for at most `budget_s`; returns the keys and the new positions."""
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
                seen.update(m.key.decode() for m in batch if m.key)
                moved[tp.partition] = batch[-1].offset + 1
        return seen, positions | moved
    except KafkaError as exc:
        raise BusError(f"reading recent keys of {topic} on Kafka at {config['bootstrap_servers']} failed: {exc}") from exc
    finally:
        consumer.close()
