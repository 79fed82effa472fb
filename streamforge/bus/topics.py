"""Every Kafka topic StreamForge uses, declared once.

The list is data, not code paths: `ensure_topics` creates the missing ones on a broker, and the Kubernetes manifests
(Strimzi KafkaTopic resources) are generated from the same `TOPICS`, so the two cannot disagree.

Messages are keyed by symbol, so all of one symbol's data lands in one partition, in order. Every topic deletes by
age rather than compacting: compaction keeps only the newest message per key, which would throw away all but the
last batch of each symbol. A reader whose data has aged out gets `DataGoneError` and re-materialises upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamforge import settings
from streamforge.bus.config import max_message_bytes
from streamforge.errors import BusError
from streamforge.schemas import AGG_TRADE, BOOK_SNAPSHOT, CANDLE, DEPTH_UPDATE, KLINE, Record


@dataclass(frozen=True)
class TopicSpec:
    kind: str
    name: str
    record: Record | None
    partitions: int
    replication: int
    retention_ms: int
    cleanup_policy: str
    description: str

    @property
    def configs(self) -> dict[str, str]:
        """Topic-level Kafka configs, as both CreateTopics and a Strimzi KafkaTopic's `spec.config` take them."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(max_message_bytes()),
        }


def build_topics() -> tuple[TopicSpec, ...]:
    """The topics under the current settings (prefix, partitions, replication, retention)."""
    prefix = settings.get("STREAMFORGE_TOPIC_PREFIX")
    common = dict(
        partitions=int(settings.get("STREAMFORGE_TOPIC_PARTITIONS")),
        replication=int(settings.get("STREAMFORGE_TOPIC_REPLICATION")),
        retention_ms=int(settings.get("STREAMFORGE_TOPIC_RETENTION_MS")),
        cleanup_policy="delete",
    )

    def spec(kind: str, record: Record | None, description: str, version: int = 1) -> TopicSpec:
        version = record.version if record else version
        return TopicSpec(kind=kind, name=f"{prefix}.{kind}.v{version}", record=record, description=description, **common)

    return (
        spec("aggtrades", AGG_TRADE, "Aggregate trades, one Arrow batch per message, keyed by symbol."),
        spec("candles-1m", CANDLE, "1-minute candles built by StreamForge from aggregate trades."),
        spec("candles-5m", CANDLE, "5-minute candles built by StreamForge from aggregate trades."),
        spec("klines-1m", KLINE, "The exchange's own 1-minute klines, the reference our candles are checked against."),
        spec("depth", DEPTH_UPDATE, "Order-book diffs (depthUpdate events)."),
        spec("book", BOOK_SNAPSHOT, "Top-N order-book snapshots built from depth updates."),
        spec("deadletter", None, "Raw messages that could not be parsed, with the reason in the headers."),
        spec("live-aggtrades", AGG_TRADE, "Aggregate trades from the live WebSocket loader: contiguous agg ids, micro-batches keyed by symbol."),
        spec("live-klines-1m", KLINE, "Closed 1-minute klines from the live WebSocket loader."),
    )


TOPICS: tuple[TopicSpec, ...] = build_topics()


def topic(kind: str) -> TopicSpec:
    """The spec of one topic by kind, e.g. `topic("aggtrades").name`."""
    for spec in TOPICS:
        if spec.kind == kind:
            return spec
    raise KeyError(f"no topic of kind {kind!r}; known: {[s.kind for s in TOPICS]}")


def ensure_topics(admin_or_config: KafkaAdminClient | dict, topics: tuple[TopicSpec, ...] = TOPICS) -> list[str]:
    """Create the topics that do not exist yet, with their partitions and configs; return the names created.

    Idempotent, and safe when another process creates the same topic at the same moment. Topics are always created
    explicitly because a broker's auto-create picks its own partition count (Tansu: 4) and default retention.
    """
    admin = admin_or_config if isinstance(admin_or_config, KafkaAdminClient) else None
    try:
        if admin is None:
            admin = KafkaAdminClient(**admin_or_config)
        existing = set(admin.list_topics())
        created = []
        for spec in topics:
            if spec.name in existing:
                continue
            try:
                admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, spec.replication, topic_configs=spec.configs)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    except KafkaError as exc:
        bootstrap = (admin.config if admin else admin_or_config)["bootstrap_servers"]
        raise BusError(f"cannot create topics on Kafka at {bootstrap}: {exc}") from exc
    finally:
        if admin is not None and admin is not admin_or_config:
            admin.close()
