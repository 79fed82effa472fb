"""publish_frame / read_ranges against a real broker: exact round trips, exact offsets, and clear failures."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.frames import OffsetRange, offset_ranges, publish_frame, ranges_from_json, ranges_to_json, read_ranges
from streamforge.bus.publisher import producer_settings, shared_producer
from streamforge.bus.topics import ensure_topics
from streamforge.errors import BusError, DataGoneError, SchemaError
from streamforge.schemas import AGG_TRADE, CANDLE

DAY1 = "2025-01-02|binance.spot.BTCUSDT"
DAY2 = "2025-01-03|binance.spot.BTCUSDT"


def test_a_200k_row_frame_round_trips_exactly(kafka, make_topic, make_trades):
    spec = make_topic(kafka, partitions=3)
    frame = make_trades(200_000)
    ranges = publish_frame(shared_producer(kafka), spec.name, "BTCUSDT", DAY1, AGG_TRADE, frame)
    assert len(ranges) == 1 and ranges[0].messages > 1
    assert read_ranges(kafka, ranges, AGG_TRADE, DAY1).equals(frame)


def test_every_message_on_the_topic_respects_the_size_bound(kafka, make_topic, make_trades, monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES", "20000")
    spec = make_topic(kafka)
    [r] = publish_frame(shared_producer(kafka), spec.name, "BTCUSDT", DAY1, AGG_TRADE, make_trades(30_000))
    consumer = KafkaConsumer(**kafka, enable_auto_commit=False)
    try:
        tp = TopicPartition(spec.name, r.partition)
        consumer.assign([tp])
        consumer.seek(tp, r.start)
        messages = []
        while len(messages) < r.messages:
            messages += consumer.poll(timeout_ms=1000).get(tp, [])
    finally:
        consumer.close()
    assert r.messages > 10
    sizes = [m.serialized_key_size + m.serialized_value_size + m.serialized_header_size for m in messages]
    assert max(sizes) <= 20_000


class _TakingTurns:
    """Producer wrapper letting two writers send one message each in turn, so their messages interleave for sure."""

    def __init__(self, producer, me: int, state: dict, cond: threading.Condition):
        self._producer, self._me, self._state, self._cond = producer, me, state, cond
        self.config = producer.config

    def send(self, *args, **kwargs):
        with self._cond:
            self._cond.wait_for(lambda: self._state["turn"] == self._me or self._state["done"], timeout=5)
            future = self._producer.send(*args, **kwargs)
            self._state["turn"] = 1 - self._me
            self._cond.notify_all()
            return future

    def flush(self, timeout=None):
        with self._cond:
            self._state["done"] = True
            self._cond.notify_all()
        self._producer.flush(timeout)


def test_interleaved_writers_get_several_ranges_and_each_reader_its_own_rows(kafka, make_topic, make_trades, monkeypatch):
    monkeypatch.setenv("STREAMFORGE_KAFKA_MAX_MESSAGE_BYTES", "20000")
    spec = make_topic(kafka)
    frames = {DAY1: make_trades(20_000, seed=1), DAY2: make_trades(20_000, first_id=20_000, seed=2)}
    state, cond, ranges = {"turn": 0, "done": False}, threading.Condition(), {}

    def write(me: int, partition_key: str) -> None:
        producer = _TakingTurns(shared_producer(kafka), me, state, cond)
        ranges[partition_key] = publish_frame(producer, spec.name, "BTCUSDT", partition_key, AGG_TRADE, frames[partition_key])

    writers = [threading.Thread(target=write, args=(i, key)) for i, key in enumerate(frames)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    for partition_key, frame in frames.items():
        assert len(ranges[partition_key]) > 1
        assert read_ranges(kafka, ranges[partition_key], AGG_TRADE, partition_key).equals(frame)


def test_reading_as_another_record_is_a_schema_error(kafka, make_topic, make_trades):
    spec = make_topic(kafka)
    ranges = publish_frame(shared_producer(kafka), spec.name, "BTCUSDT", DAY1, AGG_TRADE, make_trades(100))
    with pytest.raises(SchemaError, match="agg_trade v3.*candle v2"):
        read_ranges(kafka, ranges, CANDLE, DAY1)


def test_reading_another_partition_keys_offsets_is_data_gone(kafka, make_topic, make_trades):
    spec = make_topic(kafka)
    ranges = publish_frame(shared_producer(kafka), spec.name, "BTCUSDT", DAY1, AGG_TRADE, make_trades(100))
    with pytest.raises(DataGoneError, match=f"now holds {DAY1}"):
        read_ranges(kafka, ranges, AGG_TRADE, DAY2)


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test's own, to restart or stop without disturbing the session's."""
    with LocalBroker(tmp_path, stop_timeout_s=1) as broker:
        yield broker


def test_after_a_broker_restart_old_ranges_are_data_gone_naming_the_partition(own_broker, make_topic, make_trades):
    config = kafka_config(own_broker.bootstrap)
    spec = make_topic(config)
    ranges = publish_frame(shared_producer(config), spec.name, "BTCUSDT", DAY1, AGG_TRADE, make_trades(1000))
    own_broker.restart()
    with pytest.raises(DataGoneError, match=f"re-materialise the upstream partition {DAY1}"):
        read_ranges(config, ranges, AGG_TRADE, DAY1)
    ensure_topics(config, (spec,))  # the topic is back, but empty: the recorded offsets hold nothing
    with pytest.raises(DataGoneError, match=rf"{DAY1} is gone .*0 of {ranges[0].messages} messages"):
        read_ranges(config, ranges, AGG_TRADE, DAY1)


def test_a_stopped_broker_is_a_bus_error_naming_it_within_the_timeout(own_broker, make_topic, make_trades):
    config = kafka_config(own_broker.bootstrap)
    spec = make_topic(config)
    producer = KafkaProducer(**producer_settings(config))  # not the shared one: it is left holding undeliverable data
    ranges = publish_frame(producer, spec.name, "BTCUSDT", DAY1, AGG_TRADE, make_trades(1000))
    own_broker.stop()
    started = time.monotonic()
    with pytest.raises(BusError, match=own_broker.bootstrap) as failure:
        read_ranges(config, ranges, AGG_TRADE, DAY1)
    assert not isinstance(failure.value, DataGoneError)
    with pytest.raises(BusError, match=own_broker.bootstrap):
        publish_frame(producer, spec.name, "BTCUSDT", DAY2, AGG_TRADE, make_trades(1000))
    assert time.monotonic() - started < 10
    producer.close(timeout=10)  # returns once the undeliverable messages expire (delivery_timeout_ms)


def test_offsets_compress_into_consecutive_runs_per_partition():
    positions = [("t", 0, 5), ("t", 0, 3), ("t", 0, 4), ("t", 0, 9), ("t", 1, 0)]
    assert offset_ranges(positions) == [
        OffsetRange("t", 0, 3, 5, 3),
        OffsetRange("t", 0, 9, 9, 1),
        OffsetRange("t", 1, 0, 0, 1),
    ]


def test_ranges_survive_json():
    ranges = [OffsetRange("streamforge.aggtrades.v1", 2, 10, 19, 10), OffsetRange("streamforge.aggtrades.v1", 2, 30, 30, 1)]
    assert ranges_from_json(ranges_to_json(ranges)) == ranges
