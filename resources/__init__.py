"""Dagster resources and IO managers: thin wrappers that configure the core from the environment."""

from resources.bundle import resource_defs
from resources.exchange import ExchangeResource
from resources.io_managers import KafkaFrameIOManager
from resources.kafka import KafkaResource
from resources.store import StoreResource

__all__ = ["resource_defs", "ExchangeResource", "KafkaFrameIOManager", "KafkaResource", "StoreResource"]
