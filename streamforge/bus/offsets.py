"""Where things stand in a topic: the partition a key lands in, end offsets, and consumer-group offsets.

These are the cheap metadata calls (no fetch of message data) that the live sensors make every tick, each bounded
by a timeout the caller gives, so a tick never waits on Kafka longer than it can afford.

End offsets are an activity signal only: they move forward when new batches arrive, but Tansu under-reports them
after batched produce (docs/kafka-broker.md), so nothing here treats them as "everything up to here exists".
"""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, NoError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata

from streamforge.errors import BusError


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java's and kafka-python's alike) sends messages keyed `key` to."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def _bounded(config: dict, timeout_s: float) -> dict:
    timeout_ms = int(timeout_s * 1000)
    return config | {"bootstrap_timeout_ms": timeout_ms, "request_timeout_ms": timeout_ms}


def end_offsets(config: dict, topic: str, timeout_s: float) -> dict[int, int]:
    """{partition: end offset} of `topic`; {} when the topic does not exist yet."""
    try:
        consumer = KafkaConsumer(**_bounded(config, timeout_s), group_id=None, enable_auto_commit=False)
    except KafkaError as exc:
        raise BusError(f"Kafka at {config['bootstrap_servers']} is unreachable: {exc}") from exc
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in sorted(partitions)], int(timeout_s * 1000))
        return {tp.partition: offset for tp, offset in ends.items()}
    except KafkaError as exc:
        raise BusError(f"end offsets of {topic} on Kafka at {config['bootstrap_servers']}: {exc}") from exc
    finally:
        consumer.close()


def group_offsets(config: dict, group: str, partitions: list[TopicPartition], timeout_s: float) -> dict[TopicPartition, int | None]:
    """{partition: the group's committed offset, None where it never committed}, in one round trip."""
    if not partitions:
        return {}
    admin = _admin(config, timeout_s)
    try:
        found = admin.list_group_offsets({group: list(partitions)}).get(group, {})
    except KafkaError as exc:
        raise BusError(f"committed offsets of {group} on Kafka at {config['bootstrap_servers']}: {exc}") from exc
    finally:
        admin.close()
    return {tp: (found[tp].offset if tp in found and found[tp].offset >= 0 else None) for tp in partitions}


def commit_forward(config: dict, group: str, offsets: dict[TopicPartition, int], timeout_s: float) -> dict[TopicPartition, int]:
    """Commit `offsets` for `group` where they are ahead of what it committed; return what was committed.

    Never moving backwards makes the order in which runs finish irrelevant: a slow run for an older range cannot
    undo a newer run's commit. The group has no members (nobody subscribes; readers assign partitions), so an
    offset commit without a generation is accepted.
    """
    admin = _admin(config, timeout_s)
    try:
        current = admin.list_group_offsets({group: list(offsets)}).get(group, {})
        ahead = {tp: o for tp, o in offsets.items() if current.get(tp) is None or o > current[tp].offset}
        errors = admin.alter_group_offsets(group, {tp: OffsetAndMetadata(o, "", -1) for tp, o in ahead.items()})
    except KafkaError as exc:
        raise BusError(f"committing {group}'s offsets on Kafka at {config['bootstrap_servers']}: {exc}") from exc
    finally:
        admin.close()
    failed = {tp: e for tp, e in errors.items() if e is not NoError}
    if failed:
        raise BusError(f"Kafka refused {group}'s offset commit: {failed}")
    return ahead


def _admin(config: dict, timeout_s: float) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(**_bounded(config, timeout_s))
    except KafkaError as exc:
        raise BusError(f"Kafka at {config['bootstrap_servers']} is unreachable: {exc}") from exc
