"""The store as a Dagster resource. Assets never branch on the backend; this resource picks it."""

from __future__ import annotations

import dagster as dg

from streamforge.store import EmbeddedStore, Store
from streamforge.store.base import PartitionInfo

__all__ = ["PartitionInfo", "StoreResource"]


class StoreResource(dg.ConfigurableResource):
    """'embedded' keeps Parquet under `root`; 'arangodb' uses the STREAMFORGE_ARANGO_* settings."""

    backend: str
    root: str

    def open(self) -> Store:
        if self.backend == "arangodb":
            from streamforge.store.arango import ArangoStore

            return ArangoStore.from_settings()
        if self.backend != "embedded":
            raise dg.DagsterInvariantViolationError(f"store backend {self.backend!r}: use 'embedded' or 'arangodb'")
        return EmbeddedStore(self.root)
