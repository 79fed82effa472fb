"""Every Kafka topic StreamForge uses: one per catalog dataset that travels through Kafka (`streamforge.catalog`).

The list is data, not code paths: `ensure_topics` creates the missing ones on a broker, and the Kubernetes manifests
(Strimzi KafkaTopic resources) are generated from the same `TOPICS`, so the two cannot disagree.

Messages are keyed by instrument, so all of one instrument's data lands in one partition, in order. Every topic deletes by
age rather than compacting: compaction keeps only the newest message per key, which would throw away all but the
last batch of each instrument. A reader whose data has aged out gets `DataGoneError` and re-materialises upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamforge import settings
from streamforge.bus.config import max_message_bytes
from streamforge.errors import BusError
from streamforge.catalog import topic_datasets
from streamforge.schemas import Record


@dataclass(frozen=True)
class TopicSpec:
    dataset: str  # the catalog dataset the topic carries
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
    """The topics of the catalog's datasets under the current settings (prefix, partitions, replication, retention)."""
    prefix = settings.get("STREAMFORGE_TOPIC_PREFIX")
    return tuple(
        TopicSpec(
            dataset=d.name,
            name=d.topic_name(prefix),
            record=d.record,
            partitions=int(settings.get("STREAMFORGE_TOPIC_PARTITIONS")),
            replication=int(settings.get("STREAMFORGE_TOPIC_REPLICATION")),
            retention_ms=int(settings.get("STREAMFORGE_TOPIC_RETENTION_MS")),
            cleanup_policy="delete",
            description=d.description,
        )
        for d in topic_datasets()
    )


TOPICS: tuple[TopicSpec, ...] = build_topics()


def topic(dataset: str, topics: tuple[TopicSpec, ...] = TOPICS) -> TopicSpec:
    """The topic of a catalog dataset, e.g. `topic(TRADES).name`."""
    for spec in topics:
        if spec.dataset == dataset:
            return spec
    raise KeyError(f"dataset {dataset!r} has no topic; datasets with topics: {[s.dataset for s in topics]}")


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
