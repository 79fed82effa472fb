"""What the dashboard reads and how it pushes, gathered once from the settings so tests can pass their own."""

from __future__ import annotations

from dataclasses import dataclass

from streamforge import settings
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, build_topics, topic
from streamforge.catalog import BOOK, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES
from streamforge.instruments import instrument_id


@dataclass(frozen=True)
class DashboardConfig:
    kafka: dict
    trades: TopicSpec
    klines: TopicSpec
    book: TopicSpec
    mark_price: TopicSpec  # perpetuals' mark, index and funding
    liquidations: TopicSpec
    instrument: str
    push_ms: int
    lookback_messages: int
    candles: int
    tape: int
    client_queue: int
    metrics_urls: tuple[str, ...]  # every live loader's /metrics: one per shard
    allowed_hosts: tuple[str, ...]
    # Where the chart's history comes from: the venues' URL settings, overridden by these values ({}: the settings
    # alone); None: the topics only.
    history_urls: dict[str, str] | None

    @property
    def topics(self) -> tuple[TopicSpec, ...]:
        return (self.trades, self.klines, self.book, self.mark_price, self.liquidations)

    @classmethod
    def from_settings(cls, bootstrap: str | None = None) -> DashboardConfig:
        """The live topics under the current settings (prefix included, as the live loader names them);
        `bootstrap` overrides STREAMFORGE_KAFKA_BOOTSTRAP."""
        topics = build_topics()
        return cls(
            kafka=kafka_config(bootstrap),
            trades=topic(LIVE_TRADES, topics),
            klines=topic(LIVE_KLINES_1M, topics),
            book=topic(BOOK, topics),
            mark_price=topic(LIVE_MARK_PRICE, topics),
            liquidations=topic(LIVE_LIQUIDATIONS, topics),
            instrument=instrument_id(settings.get("STREAMFORGE_DASHBOARD_INSTRUMENT")),
            push_ms=int(settings.get("STREAMFORGE_DASHBOARD_PUSH_MS")),
            lookback_messages=int(settings.get("STREAMFORGE_DASHBOARD_LOOKBACK_MESSAGES")),
            candles=int(settings.get("STREAMFORGE_DASHBOARD_CANDLES")),
            tape=int(settings.get("STREAMFORGE_DASHBOARD_TAPE")),
            client_queue=int(settings.get("STREAMFORGE_DASHBOARD_CLIENT_QUEUE")),
            metrics_urls=tuple(u.strip() for u in settings.get("STREAMFORGE_DASHBOARD_METRICS_URL").split(",") if u.strip()),
            allowed_hosts=tuple(h.strip() for h in settings.get("STREAMFORGE_DASHBOARD_ALLOWED_HOSTS").split(",") if h.strip()),
            history_urls={},
        )
