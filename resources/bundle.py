"""Every resource the assets need, built in one place.

Each argument defaults to its setting, so `Definitions` calls it with none, while tests and benchmarks name the
broker, simulator and folder they started. Either way the assets receive the same resource types.
"""

from __future__ import annotations

from pathlib import Path

from resources.exchange import ExchangeResource
from resources.io_managers import KafkaFrameIOManager
from resources.kafka import KafkaResource
from resources.store import StoreResource
from streamforge import settings
from streamforge.venues import simulator_urls


def resource_defs(
    *,
    bootstrap: str | None = None,
    sim_url: str | None = None,
    home: Path | None = None,
    store_backend: str | None = None,
) -> dict:
    """`sim_url`: one simulator serving every market (REST, dump files and WebSocket at the same address)."""
    dump_cache = Path(home) / "dump-cache" if home else settings.get("STREAMFORGE_DUMP_CACHE") or settings.home() / "dump-cache"
    home = Path(home) if home else settings.home()
    kafka = KafkaResource(bootstrap_servers=bootstrap or settings.get("STREAMFORGE_KAFKA_BOOTSTRAP"))
    return {
        "exchange": ExchangeResource(urls=simulator_urls(sim_url) if sim_url else {}, cache_dir=str(dump_cache)),
        "kafka": kafka,
        "kafka_io": KafkaFrameIOManager(kafka=kafka),
        "store": StoreResource(backend=store_backend or settings.get("STREAMFORGE_STORE"), root=str(home / "store")),
    }
