"""Every StreamForge setting, in one place.

Each setting is an environment variable with a documented default. The defaults point at the local, offline stack
(the bundled simulator, the local broker, the embedded store), so `make demo` and `make test` need no configuration;
production points the same names at Binance, a Kafka cluster and ArangoDB. The README's settings table is generated
from `SETTINGS` (`streamforge settings --markdown`), so documentation and code cannot drift.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    meaning: str

    def get(self) -> str:
        return os.environ.get(self.env, self.default)


SETTINGS: dict[str, Setting] = {
    s.env: s
    for s in [
        # --- where things live
        Setting("STREAMFORGE_HOME", ".streamforge", "Root folder for local state: store, dump cache, Dagster instance, logs."),
        # --- exchange
        Setting("STREAMFORGE_REST_URL", "http://127.0.0.1:8765", "Exchange REST base URL. Binance: https://api.binance.com (or https://data-api.binance.vision)."),
        Setting("STREAMFORGE_DUMP_URL", "http://127.0.0.1:8765", "Dump-file base URL. Binance: https://data.binance.vision."),
        Setting("STREAMFORGE_WS_URL", "ws://127.0.0.1:8765", "WebSocket base URL. Binance: wss://stream.binance.com:9443 (or wss://data-stream.binance.vision)."),
        Setting("STREAMFORGE_WEIGHT_BUDGET", "0.8", "Share of the exchange's REQUEST_WEIGHT limit the client may use per window (the rest is headroom)."),
        Setting("STREAMFORGE_HTTP_TIMEOUT_S", "30", "Timeout of one HTTP request to the exchange, seconds."),
        Setting("STREAMFORGE_HTTP_RETRIES", "5", "Retries of a request that failed with 5xx or a timeout (exponential backoff with jitter)."),
        # --- kafka
        Setting("STREAMFORGE_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "Kafka bootstrap servers, comma-separated."),
        Setting("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."),
        Setting("STREAMFORGE_KAFKA_SASL_MECHANISM", "", "SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) when SASL is used."),
        Setting("STREAMFORGE_KAFKA_SASL_USERNAME", "", "SASL user name."),
        Setting("STREAMFORGE_KAFKA_SASL_PASSWORD", "", "SASL password (from a Secret in production)."),
        Setting("STREAMFORGE_KAFKA_SSL_CAFILE", "", "CA bundle that signs the brokers' certificates."),
        Setting("STREAMFORGE_KAFKA_CLIENT_ID", "streamforge", "Kafka client id."),
        Setting("STREAMFORGE_TOPIC_PREFIX", "streamforge", "Prefix of every topic name (e.g. streamforge.aggtrades.v1)."),
        Setting("STREAMFORGE_TOPIC_PARTITIONS", "6", "Partitions of each topic created by StreamForge."),
        Setting("STREAMFORGE_TOPIC_REPLICATION", "1", "Replication factor of each topic (3 on a production cluster)."),
        Setting("STREAMFORGE_TOPIC_RETENTION_MS", "604800000", "Retention of the data topics, ms (7 days). Data older than this must be re-materialised."),
        Setting("STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES", "1000000", "Largest message the IO manager produces; Arrow batches are split to stay under it."),
        # --- store
        Setting("STREAMFORGE_STORE", "embedded", "Store backend: 'embedded' (Parquet files under STREAMFORGE_HOME) or 'arangodb'."),
        Setting("STREAMFORGE_ARANGO_URL", "", "ArangoDB endpoint, e.g. http://127.0.0.1:8529 or https://... for TLS. Also enables the ArangoDB tests."),
        Setting("STREAMFORGE_ARANGO_DB", "streamforge", "ArangoDB database (created when missing and the user may)."),
        Setting("STREAMFORGE_ARANGO_USER", "root", "ArangoDB user."),
        Setting("STREAMFORGE_ARANGO_PASSWORD", "", "ArangoDB password (from a Secret in production)."),
        Setting("STREAMFORGE_ARANGO_CA_CERT", "", "CA certificate file for an https:// ArangoDB endpoint."),
        # --- partitions
        Setting("STREAMFORGE_START_DATE", "2024-01-01", "First date of the daily partitions."),
        Setting("STREAMFORGE_DEFAULT_SYMBOLS", "BTCUSDT,ETHUSDT,SOLUSDT", "Symbols the demo and `make dev` register."),
        # --- simulator
        Setting("STREAMFORGE_SIM_HOST", "127.0.0.1", "Address the simulator listens on."),
        Setting("STREAMFORGE_SIM_PORT", "8765", "Port the simulator listens on."),
        Setting("STREAMFORGE_SIM_SEED", "7", "Seed of the simulated market: same seed, same trades everywhere."),
        Setting("STREAMFORGE_SIM_VOLUME", "1.0", "Scale of simulated trade counts; 1.0 gives ~1.5M BTCUSDT aggTrades a day (2025 volume)."),
        Setting("STREAMFORGE_SIM_LEAD_LAG", "1", "1 plants the lead-lag (some symbols follow BTCUSDT by a few minutes); 0 is the control market."),
        Setting("STREAMFORGE_SIM_WEIGHT_LIMIT", "6000", "REQUEST_WEIGHT limit the simulator enforces per window."),
        Setting("STREAMFORGE_SIM_WEIGHT_WINDOW_S", "60", "Length of the simulator's weight window, seconds (Binance: 60)."),
        Setting("STREAMFORGE_SIM_FAULTS", "", "Fault injection, comma-separated name=value (see streamforge/sim/faults.py)."),
        Setting("STREAMFORGE_SIM_CACHE", "", "Folder for generated dump files (default: STREAMFORGE_HOME/sim-cache)."),
    ]
}


def get(env: str) -> str:
    return SETTINGS[env].get()


def home() -> Path:
    return Path(get("STREAMFORGE_HOME")).resolve()


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default}` | {s.meaning} |" for s in SETTINGS.values()]
    return "\n".join(rows)
