"""Fixtures for the dashboard: its own live topics on the session broker, a running dashboard, a market feeding it."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from live_market import LiveMarket

from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, ensure_topics, topic
from streamforge.dashboard.app import running_dashboard
from streamforge.dashboard.config import DashboardConfig


def live_topics(prefix: str) -> dict[str, TopicSpec]:
    """Topics shaped like the live loader's (same records), under a prefix of their own so tests never share data."""
    return {
        stream: dataclasses.replace(topic(kind), name=f"{prefix}.{name}.v1", partitions=2)
        for stream, kind, name in (("trades", "aggtrades", "live-aggtrades"), ("klines", "klines-1m", "live-klines-1m"),
                                   ("book", "book", "book"))
    }


def dashboard_config(bootstrap: str, topics: dict[str, TopicSpec], **overrides) -> DashboardConfig:
    """Settings' defaults, pointed at `topics`; the live loader's metrics are not served in these tests."""
    defaults = dict(symbol="ETHUSDT", push_ms=50, lookback_messages=300, candles=240, tape=40, client_queue=32,
                    metrics_url="http://127.0.0.1:9/metrics")
    return DashboardConfig(kafka=kafka_config(bootstrap), **topics, **(defaults | overrides))


@pytest.fixture
def topics(broker) -> dict[str, TopicSpec]:
    specs = live_topics(f"dash-{uuid.uuid4().hex[:8]}")
    ensure_topics(kafka_config(broker.bootstrap), tuple(specs.values()))
    return specs


@pytest.fixture
def market(broker, topics) -> LiveMarket:
    return LiveMarket(kafka_config(broker.bootstrap), **topics)


@pytest.fixture
def dashboard(broker, topics) -> str:
    with running_dashboard(dashboard_config(broker.bootstrap, topics)) as url:
        yield url
