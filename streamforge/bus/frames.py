"""Publish a frame to Kafka and read exactly that frame back, by the offsets its messages were written at.

A materialisation publishes one partition key's frame (e.g. `2025-01-02|BTCUSDT`) and records where each message
landed as `OffsetRange`s; a downstream step reads those offsets and nothing else. Why exact offsets:
- The producer's acknowledgement gives the exact offset of every message. End offsets are not a substitute: a
  topic's end moves with every other writer, and Tansu under-reports it after batched produce.
- Several writers may share a partition (all days of an instrument, or other runs), so one frame's messages can be
  interleaved with others'. Ranges are built only from offsets this frame got back, split where they are not
  consecutive, so a range never includes another frame's message.

Because ranges hold only our own messages, the reader does not skip anything: a message inside a range that carries
another partition key, or is missing, means the offsets now hold other data (the broker lost the topic and it was
recreated, or retention deleted it) and the reader raises `DataGoneError` telling the user to re-materialise.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from collections.abc import Iterator
from itertools import groupby

import polars as pl
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, NoOffsetForPartitionError, OffsetOutOfRangeError

from streamforge.bus import codec
from streamforge.bus.config import max_message_bytes, timeout_s
from streamforge.errors import BusError, DataGoneError
from streamforge.schemas import Record


@dataclass(frozen=True)
class OffsetRange:
    """Messages at offsets `start`..`end_inclusive` of one topic partition; `messages` is how many were written."""

    topic: str
    partition: int
    start: int
    end_inclusive: int
    messages: int


def ranges_to_json(ranges: list[OffsetRange]) -> str:
    return json.dumps([asdict(r) for r in ranges])


def ranges_from_json(text: str) -> list[OffsetRange]:
    return [OffsetRange(**item) for item in json.loads(text)]


def offset_ranges(positions: list[tuple[str, int, int]]) -> list[OffsetRange]:
    """Compress (topic, partition, offset) triples into runs of consecutive offsets."""
    ranges = []
    for (topic, partition), group in groupby(sorted(set(positions)), key=lambda p: p[:2]):
        offsets = [offset for _, _, offset in group]
        # Consecutive offsets share offset - index; each change of that difference starts a new run.
        for _, run in groupby(enumerate(offsets), key=lambda item: item[1] - item[0]):
            run_offsets = [offset for _, offset in run]
            ranges.append(OffsetRange(topic, partition, run_offsets[0], run_offsets[-1], len(run_offsets)))
    return ranges


def publish_frame(
    producer: KafkaProducer, topic: str, key: str, partition_key: str, record: Record, df: pl.DataFrame
) -> list[OffsetRange]:
    """Send `df` as Arrow messages keyed by `key` (the instrument), wait for every acknowledgement, return their ranges."""
    messages = codec.encode(record, df, partition_key, max_message_bytes())
    try:
        futures = [producer.send(topic, value=m.value, key=key.encode(), headers=m.headers) for m in messages]
        producer.flush(timeout=timeout_s())
        acks = [future.get(timeout=timeout_s()) for future in futures]
    except KafkaError as exc:
        raise BusError(
            f"could not publish {partition_key} to {topic} on Kafka at {producer.config['bootstrap_servers']} "
            f"(is the broker up and the topic created by ensure_topics?): {exc}"
        ) from exc
    return offset_ranges([(ack.topic, ack.partition, ack.offset) for ack in acks])


# Messages one fetch brings per partition. A range starting within this many messages of where the consumer already
# is gets there by reading on (and dropping the other writers' messages between); a farther one is worth a seek.
_FETCH_MESSAGES = 16


def read_ranges(consumer_config: dict, ranges: list[OffsetRange], record: Record, partition_key: str) -> pl.DataFrame:
    """Read exactly the messages in `ranges`, check they all belong to `partition_key`, and decode them.

    Raises DataGoneError when any of them is no longer on the broker, BusError when the broker cannot be reached,
    SchemaError when the messages hold another record type than `record`.
    """
    bootstrap = consumer_config["bootstrap_servers"]
    try:
        consumer = KafkaConsumer(
            **consumer_config,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="none",  # an offset that is gone must fail, not silently jump to another one
            allow_auto_create_topics=False,
            max_partition_fetch_bytes=_FETCH_MESSAGES * max_message_bytes(),
        )
    except KafkaError as exc:
        raise BusError(f"Kafka at {bootstrap} is unreachable: {exc}") from exc
    in_order = sorted(ranges, key=lambda r: (r.topic, r.partition, r.start))
    messages = (
        message
        for (topic, partition), group in groupby(in_order, key=lambda r: (r.topic, r.partition))
        for message in _read_partition(consumer, TopicPartition(topic, partition), list(group), partition_key)
    )
    try:
        # Decoding pulls the messages as they arrive, so Arrow decompresses while the consumer fetches the next ones.
        return codec.decode(record, messages)
    except (OffsetOutOfRangeError, NoOffsetForPartitionError) as exc:
        raise DataGoneError(_gone(partition_key, f"offsets out of range: {exc}")) from exc
    except KafkaError as exc:
        raise BusError(f"reading {partition_key} from Kafka at {bootstrap} failed: {exc}") from exc
    finally:
        consumer.close()


def _gone(partition_key: str, why: str) -> str:
    return f"the Kafka data of {partition_key} is gone ({why}); re-materialise the upstream partition {partition_key}"


def _read_partition(
    consumer: KafkaConsumer, tp: TopicPartition, ranges: list[OffsetRange], partition_key: str
) -> Iterator[tuple[bytes, list]]:
    """The messages of `ranges` (sorted, all in partition `tp`), read in one pass where they lie close together."""
    if tp.partition not in consumer.partitions_for_topic(tp.topic):
        raise DataGoneError(_gone(partition_key, f"{tp.topic} partition {tp.partition} does not exist"))
    consumer.assign([tp])
    stream: Iterator[ConsumerRecord] = iter(())
    position = -_FETCH_MESSAGES - 1  # offset of the next message `stream` yields; none yet
    for r in ranges:
        if not position <= r.start <= position + _FETCH_MESSAGES:
            consumer.seek(tp, r.start)
            stream = _stream(consumer, tp)
        found = 0
        for message in stream:
            if message.offset < r.start:
                continue
            if message.offset > r.end_inclusive:  # offsets inside the range are missing
                break
            where = f"offset {message.offset} of {tp.topic}[{tp.partition}]"
            holder = codec.header(message.headers, codec.PARTITION_KEY)
            if holder != partition_key:
                raise DataGoneError(_gone(partition_key, f"{where} now holds {holder}"))
            yield message.value, message.headers
            found += 1
            if message.offset == r.end_inclusive:
                break
        if found != r.messages:
            span = f"{tp.topic}[{tp.partition}] offsets {r.start}..{r.end_inclusive}"
            raise DataGoneError(_gone(partition_key, f"{span}: {found} of {r.messages} messages found"))
        position = r.end_inclusive + 1


def _stream(consumer: KafkaConsumer, tp: TopicPartition) -> Iterator[ConsumerRecord]:
    """Messages of `tp` from the consumer's position on; ends when none arrive for STREAMFORGE_KAFKA_TIMEOUT_S."""
    deadline = time.monotonic() + timeout_s()
    while time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=200).get(tp, [])
        if batch:
            deadline = time.monotonic() + timeout_s()
        yield from batch
    consumer.topics()  # raises if the broker stopped answering: that is BusError, not data loss
