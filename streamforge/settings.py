"""Every StreamForge setting, in one place.

Each setting is an environment variable with a documented default. The defaults point at the local, offline stack
(the bundled simulator, the local broker, the embedded store), so `make demo` and `make test` need no configuration;
production points the same names at Binance, a Kafka cluster and ArangoDB. The README's settings table is generated
from `SETTINGS` (`streamforge settings --markdown`), so documentation and code cannot drift.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from streamforge.errors import ConfigError


# Names whose values are credentials: never written to disk or printed (the deploy policy refuses them inline, too).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY", re.IGNORECASE)
# The user-information part of a URL (`https://user:password@host`), where a credential can hide in a non-secret name.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


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
        Setting("STREAMFORGE_HOME", "", "Root folder for local state: store, dump cache, Dagster instance, logs (default: `.streamforge` in the project's root folder, the one holding pyproject.toml; ~/.streamforge for an installed package). Never relative to the working directory."),
        # --- exchange
        Setting("STREAMFORGE_REST_URL", "http://127.0.0.1:8765", "Exchange REST base URL. Binance: https://api.binance.com (or https://data-api.binance.vision)."),
        Setting("STREAMFORGE_DUMP_URL", "http://127.0.0.1:8765", "Dump-file base URL. Binance: https://data.binance.vision."),
        Setting("STREAMFORGE_WS_URL", "ws://127.0.0.1:8765", "WebSocket base URL. Binance: wss://stream.binance.com:9443 (or wss://data-stream.binance.vision)."),
        Setting("STREAMFORGE_USDM_REST_URL", "http://127.0.0.1:8765", "Binance USD-M futures REST base URL (market binance.usdm). Binance: https://fapi.binance.com."),
        Setting("STREAMFORGE_USDM_DUMP_URL", "http://127.0.0.1:8765", "Binance USD-M futures dump-file base URL (files under data/futures/um). Binance: https://data.binance.vision."),
        Setting("STREAMFORGE_USDM_WS_URL", "ws://127.0.0.1:8765", "Binance USD-M futures WebSocket base URL, before its routes /public and /market. Binance: wss://fstream.binance.com."),
        Setting("STREAMFORGE_USDM_AGGTRADES_REACH_H", "48", "How far back Binance USD-M REST aggTrades reach, hours (the exchange's documentation says the past 48 hours); older days come from the dump files only."),
        Setting("STREAMFORGE_USDM_OPEN_INTEREST_DAYS", "30", "How far back Binance USD-M serves open interest history (/futures/data/openInterestHist), days (the exchange: the latest month only)."),
        Setting("STREAMFORGE_OKX_REST_URL", "http://127.0.0.1:8765", "OKX REST base URL (markets okx.spot, okx.swap). OKX: https://www.okx.com."),
        Setting("STREAMFORGE_OKX_FILES_URL", "http://127.0.0.1:8765", "OKX historical data files base URL (its daily trade files). OKX: https://static.okx.com."),
        Setting("STREAMFORGE_OKX_WS_URL", "ws://127.0.0.1:8765", "OKX WebSocket base URL; /ws/v5/public and /ws/v5/business are appended. OKX: wss://ws.okx.com:8443."),
        Setting("STREAMFORGE_WEIGHT_BUDGET", "0.8", "Share of the exchange's rate limits the client may use per window (Binance's REQUEST_WEIGHT, each OKX endpoint's requests per 2 s; the rest is headroom)."),
        Setting("STREAMFORGE_HTTP_TIMEOUT_S", "30", "Longest wait for the next bytes (connecting, sending, receiving) of an HTTP request to the exchange, seconds."),
        Setting("STREAMFORGE_HTTP_DEADLINE_S", "120", "Longest one HTTP request to the exchange may take from sending to the last byte of its answer, seconds; past it the request counts as a timeout (a trickling answer cannot hold a call forever)."),
        Setting("STREAMFORGE_HTTP_MAX_BYTES", "67108864", "Largest REST answer accepted, bytes after gzip decoding; a longer one fails the request (64 MiB: exchangeInfo of every Binance symbol is a few MiB)."),
        Setting("STREAMFORGE_HTTP_RETRIES", "5", "Retries of a request that failed with 5xx or a timeout (exponential backoff with jitter)."),
        Setting("STREAMFORGE_HTTP_BACKOFF_S", "0.25", "Longest wait before the first retry of a failed request, seconds; doubles on each further retry (full jitter)."),
        Setting("STREAMFORGE_HTTP_MAX_RETRY_AFTER_S", "300", "Longest 429/418 Retry-After the client waits out, seconds; a longer one (an IP ban) fails the request."),
        Setting("STREAMFORGE_DUMP_MAX_BYTES", "1073741824", "Largest dump zip downloaded, bytes; a longer one fails the download (1 GiB: a day's spot aggTrades zip is tens of MiB)."),
        Setting("STREAMFORGE_DUMP_VERIFY_PAGES", "3", "REST aggTrades pages (1000 ids each, weight 4) a day loaded from its dump file is compared with: the first, the last and evenly between (a re-uploaded archive can disagree with the exchange)."),
        Setting("STREAMFORGE_DUMP_CACHE", "", "Folder for verified dump files, mirroring the dump URL paths (default: STREAMFORGE_HOME/dump-cache)."),
        # --- kafka
        Setting("STREAMFORGE_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "Kafka bootstrap servers, comma-separated."),
        Setting("STREAMFORGE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."),
        Setting("STREAMFORGE_KAFKA_SASL_MECHANISM", "", "SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) when SASL is used."),
        Setting("STREAMFORGE_KAFKA_SASL_USERNAME", "", "SASL user name."),
        Setting("STREAMFORGE_KAFKA_SASL_PASSWORD", "", "SASL password (from a Secret in production)."),
        Setting("STREAMFORGE_KAFKA_SSL_CAFILE", "", "CA bundle that signs the brokers' certificates."),
        Setting("STREAMFORGE_KAFKA_CLIENT_ID", "streamforge", "Kafka client id."),
        Setting("STREAMFORGE_TOPIC_PREFIX", "streamforge", "Prefix of every topic name (e.g. streamforge.aggtrades.v3)."),
        Setting("STREAMFORGE_TOPIC_PARTITIONS", "6", "Partitions of each topic created by StreamForge."),
        Setting("STREAMFORGE_TOPIC_REPLICATION", "1", "Replication factor of each topic (3 on a production cluster)."),
        Setting("STREAMFORGE_TOPIC_RETENTION_MS", "604800000", "Retention of the data topics, ms (7 days). Data older than this must be re-materialised."),
        Setting("STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES", "1000000", "Largest message the IO manager produces; Arrow batches are split to stay under it."),
        Setting("STREAMFORGE_KAFKA_TIMEOUT_S", "10", "Longest wait on Kafka: connecting, a metadata request, a flush, or a read that stops making progress, seconds."),
        Setting("STREAMFORGE_KAFKA_ARROW_COMPRESSION", "zstd", "Compression inside the Arrow IPC batches sent over Kafka: zstd, lz4 or none (bench/b1_kafka_io.py compares them)."),
        # --- store
        Setting("STREAMFORGE_STORE", "embedded", "Store backend: 'embedded' (Parquet files under STREAMFORGE_HOME) or 'arangodb'."),
        Setting("STREAMFORGE_ARANGO_URL", "", "ArangoDB endpoint, e.g. http://127.0.0.1:8529 or https://... for TLS. Also enables the ArangoDB tests."),
        Setting("STREAMFORGE_ARANGO_DB", "streamforge", "ArangoDB database (created when missing and the user may)."),
        Setting("STREAMFORGE_ARANGO_USER", "root", "ArangoDB user."),
        Setting("STREAMFORGE_ARANGO_PASSWORD", "", "ArangoDB password (from a Secret in production)."),
        Setting("STREAMFORGE_ARANGO_CA_CERT", "", "CA certificate file for an https:// ArangoDB endpoint."),
        Setting("STREAMFORGE_ARANGO_TIMEOUT_S", "60", "Longest wait for one ArangoDB request, seconds (a day of trades travels in requests of a few MB)."),
        Setting("STREAMFORGE_ARANGO_LEASE_S", "60", "A partition writer's lease in ArangoDB lasts this long unless renewed (writers renew it while they write), seconds: a writer killed mid-write holds up the next writer of its partition at most this long."),
        Setting("STREAMFORGE_ARANGO_COMPRESSION", "none", "'deflate' compresses ArangoDB request bodies (about 4x smaller) and asks for compressed answers; needs ArangoDB 3.12 or later with authentication on (or --http.handle-content-encoding-for-unauthenticated-requests). 'none' sends plain JSON."),
        # --- partitions
        Setting("STREAMFORGE_START_DATE", "2024-01-01", "First date of the daily partitions."),
        Setting("STREAMFORGE_PARTITIONS_PER_RUN", "50", "Most cells (date, instrument) one backfill run covers: each of `streamforge backfill`'s runs (sized by volume up to STREAMFORGE_TRADES_PER_RUN; each cell also costs a fixed few downloads and steps), each run the UI's `sized_backfill` job plans, and each run of the UI's Materialize → backfill (BackfillPolicy.multi_run, a fixed number of cells). A run holds one cell at a time, so this bounds run count, not memory (B8)."),
        Setting("STREAMFORGE_TRADES_PER_RUN", "5000000", "Most trades one run of `streamforge backfill` (or of the UI's `sized_backfill` job) is sized to hold (streamforge/run_sizes.py): a cell's trades are estimated from its venue's count of the last 24 hours (Binance's 24-hour ticker `count`, raw trades: about 2.5 per aggregate trade, so ~2M aggTrades, under two BTCUSDT days of 2025) or, for a venue that publishes none (OKX), from the instrument's stored days. A busier single cell is a run of its own."),
        Setting("STREAMFORGE_DEFAULT_INSTRUMENTS", "binance.spot.BTCUSDT,binance.spot.ETHUSDT,binance.spot.SOLUSDT", "Instruments the demo and `make dev` register (bare symbols mean Binance spot)."),
        # --- simulator
        Setting("STREAMFORGE_SIM_HOST", "127.0.0.1", "Address the simulator listens on."),
        Setting("STREAMFORGE_SIM_PORT", "8765", "Port the simulator listens on."),
        Setting("STREAMFORGE_SIM_SEED", "7", "Seed of the simulated market: same seed, same trades everywhere."),
        Setting("STREAMFORGE_SIM_VOLUME", "1.0", "Scale of simulated trade counts; 1.0 gives ~1.5M BTCUSDT aggTrades a day (2025 volume)."),
        Setting("STREAMFORGE_SIM_UNIVERSE", "7", "Assets the simulated market lists over its history, most active first: 7 (BTC, ETH, BNB, SOL, XRP, DOGE and the delisted LUNA) up to 1000. 200 gives a realistic cross-section (streamforge/sim/assets.py): heavy-tailed activity, sectors, lead-lag groups, listings and delistings; each asset is also listed on Binance USD-M and OKX when busy enough (streamforge/sim/universe.py), and every universe has the futures-only 1000PEPEUSDT on USD-M."),
        Setting("STREAMFORGE_SIM_LEAD_LAG", "1", "1 plants the lead-lag (ETH and BNB follow BTCUSDT by STREAMFORGE_SIM_LAG_S, SOL by twice that, and the universe's groups alike); 0 is the control market (same co-movement, no lead)."),
        Setting("STREAMFORGE_SIM_LAG_S", "330", "Seconds a first-tier follower trails its leader (second tier: twice that); off the 5-minute grid by default."),
        Setting("STREAMFORGE_SIM_LAG_JITTER_S", "60", "Each follower's lag moves by up to this many seconds either way, drawn per day from the seed."),
        Setting("STREAMFORGE_SIM_PERP", "lead_ms=0,premium_bps=3,basis_bps=5,half_life_s=1800,regime_bps=4", "Perpetuals against spot, name=value (streamforge/sim/derived.py): perp lead over spot (ms), mean and standard deviation of the mean-reverting basis (bps), its half-life (s), and the standard deviation of its days-long swings (bps). Funding settles from this premium."),
        Setting("STREAMFORGE_SIM_OKX", "lag_ms=500,basis_bps=2,half_life_s=60", "OKX against Binance, name=value (streamforge/sim/derived.py): OKX's lag behind Binance (ms; negative leads), standard deviation (bps) and half-life (s) of the cross-venue basis."),
        Setting("STREAMFORGE_SIM_WEIGHT_LIMIT", "6000", "REQUEST_WEIGHT limit the simulator enforces per window."),
        Setting("STREAMFORGE_SIM_WEIGHT_WINDOW_S", "60", "Length of the simulator's weight window, seconds (Binance: 60)."),
        Setting("STREAMFORGE_SIM_FUTURES_WEIGHT_LIMIT", "2400", "REQUEST_WEIGHT limit the simulator enforces per window on the USD-M futures API (/fapi; Binance: 2,400 a minute), apart from spot's."),
        Setting("STREAMFORGE_SIM_FAULTS", "", "Fault injection, comma-separated name=value (see streamforge/sim/faults.py)."),
        Setting("STREAMFORGE_SIM_CACHE", "", "Folder for generated dump files (default: STREAMFORGE_HOME/sim-cache)."),
        Setting("STREAMFORGE_SIM_SPEED", "1", "Simulated seconds per wall-clock second; 1 streams the market of the current time, more replays faster (benchmarks)."),
        Setting("STREAMFORGE_SIM_WS_TICK_MS", "20", "How often each WebSocket connection of the simulator sends what happened since the last tick, ms."),
        Setting("STREAMFORGE_SIM_DEPTH_WINDOW", "1000", "Levels per side the simulated depth stream keeps exact (a client's snapshot must hold at least this many)."),
        Setting("STREAMFORGE_SIM_WS_PING_S", "20", "The simulator pings each WebSocket client this often, seconds (Binance: 20)."),
        Setting("STREAMFORGE_SIM_WS_PONG_TIMEOUT_S", "60", "A client that does not answer a ping within this many seconds is disconnected (Binance: 60)."),
        Setting("STREAMFORGE_SIM_WS_LIFETIME_S", "86400", "The simulator closes a WebSocket connection this long after it opened (Binance: 24 h)."),
        # --- dashboard (streamforge/dashboard)
        Setting("STREAMFORGE_DASHBOARD_HOST", "127.0.0.1", "Address the dashboard listens on (0.0.0.0 inside a container behind a Service)."),
        Setting("STREAMFORGE_DASHBOARD_PORT", "8080", "Port of the dashboard's web page, /healthz and /ws."),
        Setting("STREAMFORGE_DASHBOARD_ALLOWED_HOSTS", "localhost,127.0.0.1", "Host names the dashboard answers to, comma-separated (`*.example.com` for a domain): requests for any other Host are refused (DNS rebinding), and /ws takes only browsers whose page came from the dashboard itself (its Origin)."),
        Setting("STREAMFORGE_DASHBOARD_INSTRUMENT", "binance.spot.ETHUSDT", "Instrument the page shows first (a bare symbol means Binance spot)."),
        Setting("STREAMFORGE_DASHBOARD_PUSH_MS", "25", "Updates to a browser are coalesced into one message per this many ms (at most 40 a second at 25, and at most 25 ms of the 100 ms latency goal); 0 sends each Kafka poll's changes at once."),
        Setting("STREAMFORGE_DASHBOARD_LOOKBACK_MESSAGES", "300", "Messages per topic partition read back at start, so the chart and tape are not empty."),
        Setting("STREAMFORGE_DASHBOARD_CANDLES", "240", "1-minute candles kept per instrument (and shown on the chart)."),
        Setting("STREAMFORGE_DASHBOARD_TAPE", "40", "Trades kept per instrument for the tape."),
        Setting("STREAMFORGE_DASHBOARD_CLIENT_QUEUE", "32", "Messages queued for one browser; a slower browser loses them and gets a fresh snapshot instead."),
        Setting("STREAMFORGE_DASHBOARD_METRICS_URL", "http://127.0.0.1:9108/metrics", "The live loaders' Prometheus endpoints (port STREAMFORGE_LIVE_HTTP_PORT), comma-separated, one per shard: each one's health is shown, and the selected instrument's figures come from the shard that follows it."),
        # --- live loader (streamforge/live)
        Setting("STREAMFORGE_LIVE_HTTP_HOST", "127.0.0.1", "Address the live loader's /healthz, /readyz and /metrics listen on (0.0.0.0 inside a container, so the kubelet's probes and Prometheus reach them on the pod's address)."),
        Setting("STREAMFORGE_LIVE_SHARD", "0/1", "Which share of the instruments this loader follows, k/n (0 <= k < n): one of n loaders, each following the instruments that rendezvous hashing of their ids gives shard k (streamforge/live/shards.py); `streamforge live --shard` overrides it. A StatefulSet sets it from the pod's ordinal."),
        Setting("STREAMFORGE_LIVE_HTTP_PORT", "9108", "Port of the live loader's /healthz, /readyz and /metrics (Prometheus text); 0 picks a free one."),
        Setting("STREAMFORGE_LIVE_WS_COMPRESSION", "none", "WebSocket compression the live loader asks its venues for: `deflate` (permessage-deflate: about a sixth of the bytes on the wire, and about 8 µs more of the loader's CPU per message, bench/live_cost.py) or `none`."),
        Setting("STREAMFORGE_LIVE_STALL_S", "10", "A connection that delivers no message for this long is treated as stalled and replaced, seconds."),
        Setting("STREAMFORGE_LIVE_MAX_CONNECTION_S", "85800", "A connection is replaced (new one opened first) after this long, before the exchange's 24-hour limit, seconds."),
        Setting("STREAMFORGE_LIVE_BACKOFF_S", "0.5", "First reconnect delay after a failed connection, seconds; doubles per failure (full jitter)."),
        Setting("STREAMFORGE_LIVE_BACKOFF_MAX_S", "30", "Longest reconnect delay, seconds."),
        Setting("STREAMFORGE_LIVE_BOOK_TICKER", "1", "1 subscribes each Binance instrument's bookTicker (every change of the best bid or ask, into the top-of-book topic): on a busy book about as many messages as trades, depth and klines together; 0 leaves it out."),
        Setting("STREAMFORGE_LIVE_BATCH_MS", "20", "A micro-batch is published at the latest this long after its first row, ms."),
        Setting("STREAMFORGE_LIVE_BATCH_ROWS", "2000", "A micro-batch is published as soon as it holds this many rows."),
        Setting("STREAMFORGE_LIVE_BUFFER_BYTES", "268435456", "Memory budget for data not yet acknowledged by Kafka, bytes; beyond it rows are not published and their ids are recorded."),
        Setting("STREAMFORGE_LIVE_DELIVERY_TIMEOUT_S", "600", "How long the producer keeps retrying a batch while Kafka is unavailable, seconds; then its ids are recorded as unpublished."),
        Setting("STREAMFORGE_LIVE_SNAPSHOT_LIMIT", "1000", "Levels per side of the REST depth snapshot a local book starts from (weight 50 at 1000, 250 at 5000)."),
        Setting("STREAMFORGE_LIVE_SNAPSHOT_SPACING_MS", "250", "Least time between two REST depth snapshots, so resyncs of many instruments are staggered, ms."),
        Setting("STREAMFORGE_LIVE_BOOK_INTERVAL_S", "1", "How often the top levels of every local book are published, seconds."),
        Setting("STREAMFORGE_LIVE_BOOK_BUFFER_EVENTS", "600", "Depth events a local book keeps while it waits for its REST snapshot, the newest (older ones are dropped, as any later snapshot is newer): 600 is a minute of 100 ms diffs."),
        Setting("STREAMFORGE_LIVE_BOOK_TOP", "20", "Levels per side in each published book snapshot."),
        Setting("STREAMFORGE_LIVE_MAX_REPAIR_IDS", "100000", "Most trade ids one REST repair may fetch; an id further ahead than this is not believed until the stream confirms it, and a confirmed jump beyond it is recorded as unpublished by range."),
        Setting("STREAMFORGE_LIVE_RECOVERY_S", "60", "A loader task that keeps failing for this long (restarted, but never up for 10 s) makes /healthz fail, seconds."),
        # --- live capture and its sensors (streamforge/live_capture.py, sensors/live.py)
        Setting("STREAMFORGE_LIVE_GROUP", "streamforge-live", "Consumer group of the live capture: one committed offset per (live topic, Kafka partition), committed once the `live_capture` run that persisted everything before it has succeeded; lag is measured against it."),
        Setting("STREAMFORGE_LIVE_CAPTURE_INTERVAL_S", "30", "How often the live sensor looks at the live topics and launches a `live_capture` run per live dataset (one at a time each), seconds: the run rate and, with the run's own time, the Kafka → store lag."),
        Setting("STREAMFORGE_LIVE_READ_IDLE_S", "1", "A `live_capture` run stops reading a live topic when it has given nothing more for this long, seconds."),
        Setting("STREAMFORGE_LIVE_READ_MAX_BYTES", "268435456", "Most bytes of a live topic one `live_capture` run reads; the next run continues where it stopped."),
        Setting("STREAMFORGE_LIVE_READ_MAX_S", "120", "Longest one `live_capture` run reads a live topic, seconds; the next run continues where it stopped."),
        Setting("STREAMFORGE_LIVE_SENSOR_BUDGET_S", "5", "Longest a live sensor waits on Kafka in one tick, seconds (Dagster stops a tick at 60)."),
        Setting("STREAMFORGE_LIVE_INSTRUMENTS_LOOKBACK", "100", "Messages per partition of the live topic the instruments sensor looks back at on its first tick."),
        # --- cross-venue view (streamforge/cross_venue.py)
        Setting("STREAMFORGE_CROSS_VENUE_LAG_STEP_MS", "100", "Cross-venue lead-lag: the lags tried (Hayashi-Yoshida cross-covariance of trade-price returns) are multiples of this many ms."),
        Setting("STREAMFORGE_CROSS_VENUE_MAX_LAG_MS", "2000", "Cross-venue lead-lag: lags tried up to this many ms either way."),
        Setting("STREAMFORGE_CROSS_VENUE_BAND_BPS", "50", "Cross-venue check: an interval whose close is more than this many bps from the other venues' median is flagged (a stale or broken feed)."),
        # --- graph and models (streamforge/graph, streamforge/models)
        Setting("STREAMFORGE_GRAPH_TEMPORAL_K", "3", "Temporal edges: each node receives edges from its own instrument's k previous 5-minute intervals, k = 1..K."),
        Setting("STREAMFORGE_GRAPH_CROSS_MAX_LAG", "3", "Cross-asset edges: lead-lag lags tried, 1..L intervals of 5 minutes."),
        Setting("STREAMFORGE_GRAPH_CROSS_LEVEL", "0.01", "Cross-asset edges: level of the multiple-testing correction over all (leader, follower, lag) lead-lag tests (HAC t-statistics on the training part)."),
        Setting("STREAMFORGE_GRAPH_CROSS_CORRECTION", "bh", "Cross-asset edges: 'bh' (Benjamini–Hochberg, false discovery rate) or 'holm' (family-wise error rate) over all lead-lag tests."),
        Setting("STREAMFORGE_GRAPH_CROSS_MAX_PAIRS", "4", "Cross-asset edges: each follower keeps at most this many significant (leader, lag) pairs, the strongest by |z| (0: all); bounds the graph on a universe."),
        Setting("STREAMFORGE_GRAPH_SIMILAR_K", "5", "Similarity edges: each node receives edges from its k nearest past intervals of the same instrument in feature space."),
        Setting("STREAMFORGE_GRAPH_SIMILAR_WINDOW", "288", "Similarity edges: how many past intervals (288 = one day) are searched for nearest neighbours."),
        Setting("STREAMFORGE_GRAPH_RV_FLOOR_QUANTILE", "0.01", "Floor of the 5-minute realized variance before its log, per instrument: this quantile of its positive RVs on the training part (an interval without a price change counts as the quietest that moved, not as log RV -23)."),
        Setting("STREAMFORGE_GRAPH_LARGE_TRADE_MULTIPLE", "10", "A trade is 'large' when its quantity is at least this multiple of the median trade quantity of its interval."),
        Setting("STREAMFORGE_MODEL_SEED", "0", "Seed of model initialisation and training: same seed, same model, same metrics."),
        Setting("STREAMFORGE_MODEL_HIDDEN", "32", "Width of the hidden layers of the GNN and of the MLP baseline."),
        Setting("STREAMFORGE_MODEL_LAYERS", "2", "Message-passing layers of the GNN (layers of the MLP baseline)."),
        Setting("STREAMFORGE_MODEL_LEARNING_RATE", "0.01", "Adam learning rate."),
        Setting("STREAMFORGE_MODEL_MAX_EPOCHS", "300", "Most full-graph training epochs."),
        Setting("STREAMFORGE_MODEL_PATIENCE", "20", "Early stopping: epochs without improvement of the validation loss before training stops."),
        Setting("STREAMFORGE_MODEL", "relational", "Forecaster the `model` asset and `streamforge train` train (a label of the leaderboard's line-up: relational, gat, sage, temporal, gnnhar, mlp, har, harx, persistence, relational-temporal, ...)."),
        Setting("STREAMFORGE_MODEL_DEVICE", "auto", "Where neural forecasters train and score: auto (CUDA when torch sees it), cpu or cuda. Batches are sampled on the CPU either way, so results agree across devices up to floating-point rounding."),
        Setting("STREAMFORGE_MODEL_FULL_GRAPH_NODES", "200000", "Graphs up to this many nodes train full-graph (one step per epoch, every node); larger ones train on mini-batches (stretches of time with their in-neighbourhoods), so memory stays bounded."),
        Setting("STREAMFORGE_MODEL_BATCH_NODES", "131072", "Mini-batch training: seed nodes per batch, consecutive in time (about 2 days of 200 instruments), with their in-neighbourhoods; bounds training memory. Smaller batches spend more on the intervals before each one that its edges reach (similarity edges look back a day)."),
        Setting("STREAMFORGE_MODEL_FANOUT", "-1", "Mini-batch training: in-edges sampled per node and hop (one hop per layer); -1 takes them all, so a batch computes exactly what the full graph would."),
        Setting("STREAMFORGE_MODEL_RETURN_LOSS_WEIGHT", "0.2", "Weight of the next-return-sign loss beside the log realized volatility loss."),
        Setting("STREAMFORGE_MODEL_VAL_FRACTION", "0.15", "Share of the window in the validation block (after training, before test)."),
        Setting("STREAMFORGE_MODEL_TEST_FRACTION", "0.2", "Share of the window in the test block (the end of the window)."),
        Setting("STREAMFORGE_MODEL_EMBARGO", "12", "Intervals dropped between train and validation and between validation and test (12 = one hour)."),
        Setting("STREAMFORGE_LEADERBOARD_TRAIN_DAYS", "2", "Walk-forward: days of data before each evaluation day in its window (training, embargo and validation blocks; the sliding window's length, or the least an expanding one may have)."),
        Setting("STREAMFORGE_LEADERBOARD_EXPANDING_FROM", "", "Walk-forward: empty for sliding windows; a date (YYYY-MM-DD) makes every window expand from it."),
        Setting("STREAMFORGE_LEADERBOARD_SEEDS", "0,1,2", "Walk-forward: seeds each neural model is trained with per evaluation day (the leaderboard reports mean ± sd over them)."),
        Setting("STREAMFORGE_LEADERBOARD_INSTRUMENTS", "binance.spot.BTCUSDT,ETHUSDT,SOLUSDT", "Instruments the `leaderboard` asset evaluates every model on."),
        Setting("STREAMFORGE_LEADERBOARD_MODELS", "", "Models (line-up labels) the `leaderboard` asset is partitioned by, comma-separated; empty: the whole line-up."),
        Setting("STREAMFORGE_MODEL_WINDOW_DAYS", "30", "Training window of the `graph`/`model` assets: the days ending at the partition's date. Also the longest window `streamforge train --days` may ask for (the assets' lineage covers this many days)."),
    ]
}


def get(env: str) -> str:
    return SETTINGS[env].get()


def integer(env: str) -> int:
    """A whole-number setting, refused by name when it is not one."""
    text = get(env)
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{env}={text!r}: expected a whole number") from None


def pairs(env: str, text: str) -> dict[str, str]:
    """The values of a `name=value,name=value` setting (empty items are skipped)."""
    values = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{env}: {item!r} is not name=value")
        values[name.strip()] = value.strip()
    return values


def home() -> Path:
    """STREAMFORGE_HOME, or a default that is the same from every working directory: `make demo` runs in the project
    root while a notebook kernel runs in notebooks/, and both must find the same store."""
    configured = get("STREAMFORGE_HOME")
    if configured:
        return Path(configured).resolve()
    root = Path(__file__).resolve().parent.parent
    return (root if (root / "pyproject.toml").is_file() else Path.home()) / ".streamforge"


def is_secret(env: str) -> bool:
    return bool(SECRET_NAME.search(env))


def mask_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***` (`https://***@arango:8529`)."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def shown(env: str, value: str) -> str:
    """How a setting's value may be printed or written down: secrets as `***`, URLs without their credentials."""
    if value and is_secret(env):
        return "***"
    return mask_credentials(value)


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.default}` | {s.meaning} |" for s in SETTINGS.values()]
    return "\n".join(rows)
