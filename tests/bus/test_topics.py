"""Topics are declared once and created explicitly, idempotently, with their partitions."""

import dataclasses

from kafka import KafkaAdminClient

from streamforge.bus.topics import TOPICS, build_topics, ensure_topics, topic
from streamforge.catalog import CANDLES_5M, TRADES
from streamforge.schemas import AGG_TRADE, CANDLE


def test_every_topic_is_named_from_the_prefix_and_its_record_version(monkeypatch):
    monkeypatch.setenv("STREAMFORGE_TOPIC_PREFIX", "sf-test")
    names = {spec.dataset: spec.name for spec in build_topics()}
    assert names == {
        "trades": "sf-test.aggtrades.v3",
        "candles_1m": "sf-test.candles-1m.v2",
        "candles_5m": "sf-test.candles-5m.v2",
        "mark_price_1m": "sf-test.mark-price-1m.v1",
        "index_price_1m": "sf-test.index-price-1m.v1",
        "funding": "sf-test.funding.v1",
        "open_interest_5m": "sf-test.open-interest-5m.v1",
        "basis_5m": "sf-test.basis-5m.v1",
        "live_trades": "sf-test.live-aggtrades.v3",
        "live_klines_1m": "sf-test.live-klines-1m.v3",
        "live_mark_price": "sf-test.live-mark-price.v1",
        "live_liquidations": "sf-test.live-liquidations.v1",
        "depth": "sf-test.depth.v2",
        "book": "sf-test.book.v2",
        "bbo": "sf-test.bbo.v1",
        "deadletter": "sf-test.deadletter.v1",
    }


def test_topic_specs_carry_record_and_kafka_configs():
    assert topic(TRADES).record is AGG_TRADE
    assert topic(CANDLES_5M).record is CANDLE
    assert topic(TRADES).name == "streamforge.aggtrades.v3"
    for spec in TOPICS:
        assert spec.configs["cleanup.policy"] == "delete"
        assert int(spec.configs["retention.ms"]) == spec.retention_ms > 0


def test_ensure_topics_creates_missing_topics_with_their_partition_count_and_is_idempotent(kafka):
    specs = tuple(
        dataclasses.replace(spec, name=f"ensure.{spec.name}", partitions=partitions)
        for spec, partitions in zip(TOPICS, (1, 2, 3, 5, 6, 7, 8, 2))
    )
    assert ensure_topics(kafka, specs) == [spec.name for spec in specs]
    admin = KafkaAdminClient(**kafka)
    try:
        assert ensure_topics(admin, specs) == []
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics([s.name for s in specs])}
    finally:
        admin.close()
    assert described == {spec.name: spec.partitions for spec in specs}
