"""Where materialised partitions live. Callers ask ``open_store()`` and never branch on the backend.

``STREAMFORGE_STORE=embedded`` (the default) keeps Parquet files under ``STREAMFORGE_HOME/store``;
``STREAMFORGE_STORE=arangodb`` uses the ArangoDB server named by the ``STREAMFORGE_ARANGO_*`` settings.
"""

from __future__ import annotations

from streamforge import settings
from streamforge.errors import ConfigError
from streamforge.store.base import PartitionInfo, Store
from streamforge.store.embedded import EmbeddedStore

__all__ = ["EmbeddedStore", "PartitionInfo", "Store", "open_store"]


def open_store() -> Store:
    backend = settings.get("STREAMFORGE_STORE")
    if backend == "embedded":
        return EmbeddedStore(settings.home() / "store")
    if backend == "arangodb":
        from streamforge.store.arango import ArangoStore  # the driver is only needed when the backend is chosen

        return ArangoStore.from_settings()
    raise ConfigError(f"STREAMFORGE_STORE={backend!r} is not a store backend; use 'embedded' or 'arangodb'")
