"""B1 — Kafka I/O of aggregate trades: StreamForge's Arrow path against the naive path and the broker's own limit.

Three ways to move the same AGG_TRADE rows (the simulator's 2025-volume BTCUSDT trades) through one local Tansu
broker and back into a polars frame:
- streamforge: `publish_frame` / `read_ranges` (Arrow IPC batches, header checks, exact offsets, decode);
- naive_json: one JSON message per trade with kafka-python, parsed back row by row. It is ~100x slower, so it runs
  on a subset (`naive_rows`) and is reported in rows/s;
- raw_arrow: the same pre-encoded Arrow messages sent and fetched with a plain producer/consumer, no encoding,
  checks or decoding timed: what the broker and client alone allow.
`variants` repeats the streamforge path with other compression choices (Arrow lz4 / none, Kafka lz4 on top of
Arrow zstd) on `variant_rows` rows, which is how the defaults were chosen.

MB/s counts the frame's in-memory Arrow size (the same for every path), wire_mb the bytes the broker carried.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.headline import Figure
from streamforge import settings
from streamforge.bus import codec
from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config, max_message_bytes
from streamforge.bus.frames import publish_frame, read_ranges
from streamforge.bus.publisher import producer_settings
from streamforge.catalog import TRADES
from streamforge.bus.topics import ensure_topics, topic
from streamforge.schemas import AGG_TRADE
from streamforge.sim.market import Market

KEY, PARTITION_KEY = "BTCUSDT", "2025-01-02|BTCUSDT"


HEADLINE = (
    Figure("publish, rows/s", "streamforge.produce_rows_per_s", "naive_json.produce_rows_per_s",
           "one JSON message per trade", lower_is_better=False),
    Figure("read back, rows/s", "streamforge.consume_rows_per_s", "naive_json.consume_rows_per_s",
           "one JSON message per trade", lower_is_better=False),
)


def market_trades(n: int) -> pl.DataFrame:
    """The first `n` aggregate trades of BTCUSDT from 2025-01-02 on, from the simulator's 2025-volume market: the
    shapes (prices on the tick, sizes, id and time runs) the IO manager really carries, and so really compresses."""
    market, frames, day = Market(seed=7, volume=1.0), [], date(2025, 1, 2)
    while sum(f.height for f in frames) < n:
        frames.append(market.day_trades(KEY, day))
        day += timedelta(days=1)
    return pl.concat(frames).head(n)


def _timed(fn: Callable):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _report(rows: int, mb: float, wire_bytes: int, produce_s: float, consume_s: float) -> dict:
    return {
        "rows": rows,
        "wire_mb": round(wire_bytes / 1e6, 1),
        "produce_rows_per_s": round(rows / produce_s),
        "consume_rows_per_s": round(rows / consume_s),
        "produce_mb_per_s": round(mb / produce_s, 1),
        "consume_mb_per_s": round(mb / consume_s, 1),
    }


def _mb(frame: pl.DataFrame) -> float:
    return frame.to_arrow().nbytes / 1e6


def _fresh_topic(config: dict, name: str) -> str:
    spec = dataclasses.replace(topic(TRADES), name=f"bench.{name}", partitions=1)
    ensure_topics(config, (spec,))
    return spec.name


@contextmanager
def _env(**values: str):
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _streamforge(config: dict, frame: pl.DataFrame, name: str, producer: KafkaProducer) -> dict:
    target = _fresh_topic(config, name)
    ranges, produce_s = _timed(lambda: publish_frame(producer, target, KEY, PARTITION_KEY, AGG_TRADE, frame))
    back, consume_s = _timed(lambda: read_ranges(config, ranges, AGG_TRADE, PARTITION_KEY))
    assert back.equals(frame), "round trip changed the frame"
    wire = sum(len(m.value) for m in codec.encode(AGG_TRADE, frame, PARTITION_KEY, max_message_bytes()))
    return _report(frame.height, _mb(frame), wire, produce_s, consume_s) | {"messages": sum(r.messages for r in ranges)}


def _consume(config: dict, target: str, count: int) -> list:
    consumer = KafkaConsumer(**config, enable_auto_commit=False, max_partition_fetch_bytes=16 * max_message_bytes())
    tp = TopicPartition(target, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    records = []
    while len(records) < count:
        records += consumer.poll(timeout_ms=1000).get(tp, [])
    consumer.close()
    return records


def _raw_arrow(config: dict, frame: pl.DataFrame) -> dict:
    target = _fresh_topic(config, "raw-arrow")
    messages = list(codec.encode(AGG_TRADE, frame, PARTITION_KEY, max_message_bytes()))
    producer = KafkaProducer(**producer_settings(config))

    def produce() -> None:
        for m in messages:
            producer.send(target, value=m.value, key=KEY.encode(), headers=m.headers)
        producer.flush()

    _, produce_s = _timed(produce)
    producer.close()
    _, consume_s = _timed(lambda: _consume(config, target, len(messages)))
    return _report(frame.height, _mb(frame), sum(len(m.value) for m in messages), produce_s, consume_s)


def _naive_json(config: dict, frame: pl.DataFrame) -> dict:
    """The pattern StreamForge replaces: json.dumps per trade, one Kafka message each, json.loads per message."""
    target = _fresh_topic(config, "naive-json")
    producer = KafkaProducer(**config, acks="all", linger_ms=5)
    rows = frame.with_columns(pl.col("time").dt.epoch("us")).to_dicts()  # the exchange's JSON is plain numbers

    def produce() -> int:
        wire = 0
        for row in rows:
            value = json.dumps(row).encode()
            wire += len(value)
            producer.send(target, value=value, key=KEY.encode())
        producer.flush()
        return wire

    wire, produce_s = _timed(produce)
    producer.close()

    def consume() -> pl.DataFrame:
        parsed = [json.loads(record.value) for record in _consume(config, target, len(rows))]
        return AGG_TRADE.conform(pl.DataFrame(parsed).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC"))))

    back, consume_s = _timed(consume)
    assert back.equals(frame), "JSON round trip changed the frame"
    return _report(frame.height, _mb(frame), wire, produce_s, consume_s)


def _variants(config: dict, frame: pl.DataFrame) -> dict:
    plain = KafkaProducer(**producer_settings(config))
    kafka_lz4 = KafkaProducer(**producer_settings(config) | {"compression_type": "lz4"})
    results = {}
    for arrow, producer, name in [("zstd", plain, "arrow-zstd"), ("lz4", plain, "arrow-lz4"),
                                  ("none", plain, "arrow-none"), ("zstd", kafka_lz4, "arrow-zstd+kafka-lz4")]:
        with _env(STREAMFORGE_KAFKA_ARROW_COMPRESSION=arrow):
            results[name] = _streamforge(config, frame, f"variant-{name.replace('+', '.')}", producer)
    plain.close()
    kafka_lz4.close()
    return results


def run(n_rows: int = 2_000_000, naive_rows: int = 200_000, variant_rows: int = 500_000, variants: bool = True) -> dict:
    frame = market_trades(n_rows)
    with tempfile.TemporaryDirectory() as logs, LocalBroker(Path(logs), stop_timeout_s=1) as broker:
        config = kafka_config(broker.bootstrap)
        producer = KafkaProducer(**producer_settings(config))
        streamforge = _streamforge(config, frame, "streamforge", producer)
        producer.close()
        raw = _raw_arrow(config, frame)
        naive = _naive_json(config, frame.head(min(naive_rows, n_rows)))
        result = {
            "benchmark": "b1_kafka_io",
            "broker": "tansu (local, memory storage)",
            "arrow_compression": settings.get("STREAMFORGE_KAFKA_ARROW_COMPRESSION"),
            "max_message_bytes": max_message_bytes(),
            "streamforge": streamforge,
            "raw_arrow": raw,
            "naive_json": naive | {"note": f"run on the first {naive['rows']} rows only; compare rows/s"},
            "ratios": {
                f"{way}_vs_{other}": round(streamforge[f"{way}_rows_per_s"] / results[f"{way}_rows_per_s"], 2)
                for other, results in (("naive", naive), ("raw", raw))
                for way in ("produce", "consume")
            },
        }
        if variants:
            result["variants"] = _variants(config, frame.head(min(variant_rows, n_rows)))
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
