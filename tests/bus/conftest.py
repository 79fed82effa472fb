"""Fixtures for the Kafka tests: one real Tansu broker for the session, fresh topics per test, synthetic trades."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import polars as pl
import pytest

from streamforge.bus.broker import LocalBroker
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, ensure_topics, topic
from streamforge.catalog import TRADES
from streamforge.schemas import AGG_TRADE


@pytest.fixture(scope="session", autouse=True)
def short_kafka_timeouts():
    """Failures (dead broker, missing data) must show up in seconds, not the production bound."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STREAMFORGE_KAFKA_TIMEOUT_S", "3")
        yield


@pytest.fixture(scope="session")
def broker(tmp_path_factory, short_kafka_timeouts) -> LocalBroker:
    with LocalBroker(tmp_path_factory.mktemp("tansu"), stop_timeout_s=1) as running:
        yield running


@pytest.fixture
def kafka(broker) -> dict:
    return kafka_config(broker.bootstrap)


@pytest.fixture
def make_topic():
    """Create a fresh aggtrades-like topic on a broker, so tests never see each other's messages."""

    def make(config: dict, partitions: int = 1) -> TopicSpec:
        spec = dataclasses.replace(topic(TRADES), name=f"test.{uuid.uuid4().hex[:12]}", partitions=partitions)
        ensure_topics(config, (spec,))
        return spec

    return make


@pytest.fixture
def make_trades():
    """Synthetic AGG_TRADE rows: a random-walk price, exponential sizes, contiguous ids from `first_id`."""

    def make(n: int, instrument: str = "binance.spot.BTCUSDT", first_id: int = 0, seed: int = 0) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        frame = pl.DataFrame(
            {
                "instrument": np.full(n, instrument),
                "agg_id": ids,
                "price": np.round(95_000 + np.cumsum(rng.normal(0, 2, n)), 2),
                "qty": np.round(rng.exponential(0.05, n), 5),
                "first_trade_id": ids * 3,
                "last_trade_id": ids * 3 + 2,
                "time": 1_735_776_000_000_000 + np.cumsum(rng.integers(0, 80_000, n)),
                "is_buyer_maker": rng.random(n) < 0.5,
                "is_best_match": np.ones(n, dtype=bool),
                "contract_size": pl.repeat(None, n, dtype=pl.Float64, eager=True),
            }
        )
        return AGG_TRADE.conform(frame.with_columns(pl.col("time").cast(pl.Datetime("us", "UTC"))))

    return make
