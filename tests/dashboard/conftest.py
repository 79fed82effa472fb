"""Fixtures for the dashboard: its own live topics on the session broker, a running dashboard, a market feeding it."""

from __future__ import annotations

import uuid

import pytest
from live_market import LiveMarket, dashboard_config, live_topics

from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, ensure_topics
from streamforge.dashboard.app import running_dashboard


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
