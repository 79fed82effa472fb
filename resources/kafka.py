"""Kafka as a Dagster resource: where the bus is, and the process's producer.

Only the bootstrap address is a field (it shows in the UI and differs per environment); security settings come from
the STREAMFORGE_KAFKA_* environment through `streamforge.bus.config`, the same code path every other client uses.
"""

from __future__ import annotations

import dagster as dg
from kafka import KafkaProducer

from streamforge.bus.config import kafka_config
from streamforge.bus.publisher import shared_producer
from streamforge.bus.topics import ensure_topics


class KafkaResource(dg.ConfigurableResource):
    bootstrap_servers: str

    def client_config(self) -> dict:
        return kafka_config(self.bootstrap_servers)

    def producer(self) -> KafkaProducer:
        """The process's producer, after making sure every StreamForge topic exists with its declared settings."""
        config = self.client_config()
        ensure_topics(config)
        return shared_producer(config)
