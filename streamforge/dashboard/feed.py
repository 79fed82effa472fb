"""The dashboard's one Kafka consumer: a thread that follows the live topics and hands per-instrument deltas to a sink.

- assign(), not a consumer group: every dashboard replica wants every partition, and assign() starts in milliseconds
  where a group join takes seconds (docs: kafka-broker.md). Nothing is committed; a restart starts from the end again.
- It starts `lookback_messages` before the end of each partition, so a fresh page shows recent candles and trades.
- Topics that do not exist yet (the live loader has not started) are looked for again every few seconds.
- Lag is end offset minus position, summed per topic. Tansu under-reports end offsets after batched produce, so lag
  is floored at 0 and is an activity signal there, exact on Kafka.
- A message that does not decode is logged and counted, never fatal: one bad producer must not blank every page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import polars as pl
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streamforge.bus import codec
from streamforge.bus.config import where
from streamforge.bus.topics import TopicSpec
from streamforge.dashboard import rows
from streamforge.dashboard.config import DashboardConfig
from streamforge.errors import StreamForgeError

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, rows.Delta]], None]

_DISCOVER_EVERY_S = 3.0  # how often missing topics are looked for
_LAG_EVERY_S = 1.0  # how often end offsets are asked for (one broker round trip)
_RETRY_S = 2.0  # wait before reconnecting after the broker failed
# How long the broker may hold a fetch waiting for data. kafka-python's 500 ms default added ~130 ms to the median
# event → page latency on Tansu (bench/b7_dashboard_latency.py). 20 ms means up to 50 empty fetches a second when
# the topics are quiet: ~10% of a core here, against ~4% at 100 ms.
_FETCH_MAX_WAIT_MS = 20


class KafkaFeed:
    """`start()` runs the consumer thread; `sink` receives the deltas of every poll, in topic-partition order."""

    def __init__(self, config: DashboardConfig, sink: Sink):
        self.config = config
        self.sink = sink
        self.lag: dict[str, int] = {}
        self.error: str | None = None  # why the feed is not reading, for /healthz and the page
        self.undecodable = 0
        self.assigned: list[TopicPartition] = []
        self._reducers: dict[str, tuple[TopicSpec, Callable[[pl.DataFrame], dict[str, rows.Delta]]]] = {
            config.trades.name: (config.trades, lambda df: rows.trades(df, config.tape)),
            config.klines.name: (config.klines, rows.klines),
            config.book.name: (config.book, rows.book),
            config.mark_price.name: (config.mark_price, rows.mark_prices),
            config.liquidations.name: (config.liquidations, lambda df: rows.liquidations(df, config.tape)),
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dashboard-kafka", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except (KafkaError, StreamForgeError, OSError) as exc:
                self.error = f"{where(self.config.kafka)}: {exc}"
                log.warning("dashboard feed: %s; retrying in %.0f s", self.error, _RETRY_S)
                self._stop.wait(_RETRY_S)

    def _consume(self) -> None:
        consumer = KafkaConsumer(**self.config.kafka, group_id=None, enable_auto_commit=False,
                                 auto_offset_reset="latest", allow_auto_create_topics=False,
                                 fetch_max_wait_ms=_FETCH_MAX_WAIT_MS)
        try:
            self.assigned = []
            complete, next_discovery, next_lag = False, 0.0, 0.0
            while not self._stop.is_set():
                now = time.monotonic()
                if not complete and now >= next_discovery:
                    complete = self._assign(consumer)
                    next_discovery = now + _DISCOVER_EVERY_S
                if now >= next_lag and self.assigned:
                    self._measure_lag(consumer)
                    next_lag = now + _LAG_EVERY_S
                if not self.assigned:
                    self._stop.wait(0.2)
                    continue
                by_topic: dict[str, list] = {}
                for tp, messages in consumer.poll(timeout_ms=100).items():
                    by_topic.setdefault(tp.topic, []).extend(messages)
                for topic_name, messages in by_topic.items():
                    self._hand_over(topic_name, messages)
                self.error = None
        finally:
            consumer.close()

    def _assign(self, consumer: KafkaConsumer) -> bool:
        """Assign every partition that exists now (new ones start `lookback_messages` before their end); True once
        every topic was found. Partitions added to a topic later are picked up when the dashboard restarts."""
        positions = {tp: consumer.position(tp) for tp in self.assigned}
        found = [
            TopicPartition(spec.name, p)
            for spec in self.config.topics
            for p in sorted(consumer.partitions_for_topic(spec.name) or ())
        ]
        missing = [spec.name for spec in self.config.topics if not any(tp.topic == spec.name for tp in found)]
        if missing:
            log.info("dashboard feed: waiting for topics %s", missing)
        if len(found) == len(self.assigned):
            return not missing
        consumer.assign(found)
        new = [tp for tp in found if tp not in positions]
        starts, ends = consumer.beginning_offsets(new), consumer.end_offsets(new)
        for tp in found:
            consumer.seek(tp, positions.get(tp, max(starts[tp], ends[tp] - self.config.lookback_messages)))
        self.assigned = found
        return not missing

    def _measure_lag(self, consumer: KafkaConsumer) -> None:
        ends = consumer.end_offsets(self.assigned)
        lag: dict[str, int] = {}
        for tp in self.assigned:
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends[tp] - consumer.position(tp))
        self.lag = lag

    def _hand_over(self, topic_name: str, messages: list) -> None:
        """One poll's messages of a topic, all partitions together: one frame and one reduction per poll, not per
        partition or message (a instrument's messages share a partition, so its rows stay in order)."""
        spec, reduce = self._reducers[topic_name]
        batches = []
        for message in messages:
            try:
                batches += codec.batches(spec.record, message.value, message.headers)
            except (StreamForgeError, OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid, a ValueError
                self.undecodable += 1
                log.warning("dashboard feed: skipped undecodable message at %s[%d]@%d: %s",
                            topic_name, message.partition, message.offset, exc)
        if sum(batch.num_rows for batch in batches):
            self.sink(reduce(codec.frame(spec.record, batches)))
