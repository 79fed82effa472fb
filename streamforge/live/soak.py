"""The chaos soak: the live loader under every fault at once, checked against the simulator's ground truth.

A simulator (real sockets) streams 5 symbols with abrupt disconnects, dropped, duplicated, reordered and malformed
events; the loader publishes to a real broker. Afterwards everything is read back from Kafka and checked:
- agg ids per instrument: no id missing between the first and the last, none twice;
- every published book snapshot (a checkpoint every STREAMFORGE_LIVE_BOOK_INTERVAL_S): its top 20 levels equal the
  simulator's true book at the snapshot's update id (`Market.book_state`, the same pure function the simulator
  serves).
`make test` runs a short soak (tests/live/test_soak.py), `make soak` the 10-minute one (bench/soak.py).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from streamforge.bus import codec
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, build_topics, topic
from streamforge.catalog import BOOK, LIVE_TRADES
from streamforge.live.loader import LiveConfig, LoaderThread
from streamforge.sim.faults import Faults
from streamforge.sim.market import Market
from streamforge.sim.runner import running_simulator
from streamforge.schemas import INSTRUMENT
from streamforge.sim.server import SimConfig
from streamforge.venues import simulator_urls
from streamforge.venues.binance import SPOT

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT")
TOP = 20
WINDOW = 100


@dataclass(frozen=True)
class SoakReport:
    seconds: float
    trades: int
    missing_ids: dict[str, int]
    duplicate_ids: dict[str, int]
    checkpoints: int
    book_mismatches: list[str]
    dead_letters: int
    unpublished_rows: int

    @property
    def ok(self) -> bool:
        clean = not any(self.missing_ids.values()) and not any(self.duplicate_ids.values())
        return clean and self.checkpoints > 0 and not self.book_mismatches and self.unpublished_rows == 0


def chaos_faults(disconnect_every_s: int) -> Faults:
    return Faults(ws_abort_s=disconnect_every_s, ws_drop=0.01, ws_duplicate=0.01, ws_reorder=0.005, ws_malformed=0.005)


def soak(seconds: float, disconnect_every_s: int, speed: float = 4.0, seed: int = 7, home: Path | None = None) -> SoakReport:
    home = home or Path(tempfile.mkdtemp(prefix="streamforge-soak-"))
    sim_config = SimConfig(seed=seed, speed=speed, depth_window=WINDOW, faults=chaos_faults(disconnect_every_s), cache_dir=home / "sim-cache")
    with LocalBroker(home / "broker") as broker, running_simulator(sim_config) as url:
        kafka = kafka_config(broker.bootstrap)
        config = LiveConfig.from_settings(
            [SPOT.instrument(s).id for s in SYMBOLS], urls=simulator_urls(url), home=home, http_port=0,
            snapshot_limit=WINDOW, snapshot_spacing_s=0.05, book_interval_s=0.5, book_top=TOP, backoff_s=0.2,
        )
        started = time.monotonic()
        with LoaderThread(config, kafka) as loader:
            time.sleep(seconds)
            dead_letters = int(sum(s.value for m in loader.metrics.dead_letters.collect() for s in m.samples if s.name.endswith("_total")))
        topics = build_topics()
        trades = read_frame(kafka, topic(LIVE_TRADES, topics))
        books = read_frame(kafka, topic(BOOK, topics))
        unpublished = len(config.unpublished_path.read_text().splitlines()) if config.unpublished_path.exists() else 0
    missing, duplicates = id_problems(trades)
    checkpoints, mismatches = book_problems(books, Market(seed, sim_config.volume, sim_config.lead_lag))
    return SoakReport(round(time.monotonic() - started, 1), trades.height, missing, duplicates, checkpoints, mismatches, dead_letters, unpublished)


def id_problems(trades: pl.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    """Per instrument: ids missing between the first and the last published, and ids published more than once."""
    missing, duplicates = {}, {}
    for instrument in sorted(trades[INSTRUMENT].unique()):
        ids = trades.filter(pl.col(INSTRUMENT) == instrument)["agg_id"]
        unique = ids.n_unique()
        duplicates[instrument] = ids.len() - unique
        missing[instrument] = int(ids.max() - ids.min() + 1 - unique) if unique else 0
    return missing, duplicates


def book_problems(books: pl.DataFrame, market: Market) -> tuple[int, list[str]]:
    """(checkpoints, descriptions of those whose levels differ from the true book)."""
    mismatches, checkpoints = [], 0
    for (instrument, update), levels in books.group_by(INSTRUMENT, "last_update_id", maintain_order=True):
        checkpoints += 1
        truth = market.book_state(instrument, update, TOP)
        for side, expected in (("bid", truth.bids), ("ask", truth.asks)):
            got = levels.filter(pl.col("side") == side).sort("level").select("price", "qty").rows()
            if [(round(p, 8), round(q, 8)) for p, q in got] != [(round(p, 8), round(q, 8)) for p, q in expected]:
                mismatches.append(f"{instrument} update {update} {side}s: got {got[:3]}..., true {expected[:3]}...")
    return checkpoints, mismatches


def read_frame(kafka: dict, spec: TopicSpec) -> pl.DataFrame:
    return codec.decode(spec.record, [(r.value, r.headers) for r in read_records(kafka, spec)])


def read_records(kafka: dict, spec: TopicSpec) -> list[ConsumerRecord]:
    """Every message of the topic (all partitions, from the beginning), until none arrives for a second."""
    consumer = KafkaConsumer(**kafka, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(spec.name, p) for p in consumer.partitions_for_topic(spec.name) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages, quiet_since = [], time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            for records in consumer.poll(timeout_ms=200).values():
                messages += records
                quiet_since = time.monotonic()
        return messages
    finally:
        consumer.close()
