"""A stand-in for the live loader's output: typed frames published exactly as the loader publishes them.

It is not a mock: rows go through the live publisher's own batching (`publisher.send_rows`: the instrument's partition,
one Arrow batch per partition and day with the day and instruments headers) and the shared producer to the real
broker, on the topics the dashboard is configured with. Prices follow a random walk so the chart looks like a market.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import polars as pl

from streamforge.bus.publisher import shared_producer
from streamforge.bus.config import kafka_config
from streamforge.bus.topics import TopicSpec, topic
from streamforge.catalog import BOOK, LIVE_KLINES_1M, LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES
from streamforge.dashboard.config import DashboardConfig
from streamforge.instruments import market_of, spot_of
from streamforge.live.publisher import rows_of, send_rows
from streamforge.schemas import AGG_TRADE, BOOK_SNAPSHOT, KLINE, LIQUIDATION, MARK_PRICE

MINUTE_US = 60_000_000
PERP = "binance.usdm.ETHUSDT"  # the perpetual of binance.spot.ETHUSDT
START_PRICES = {"binance.spot.ETHUSDT": 3400.0, "binance.spot.BTCUSDT": 97000.0, "binance.spot.SOLUSDT": 190.0,
                PERP: 3401.7}
BASIS = 0.0005  # the perpetual's trades are this far above its spot's last price (5 bps)


def live_topics(prefix: str) -> dict[str, TopicSpec]:
    """Topics shaped like the live loader's (same records), under a prefix of their own so tests never share data."""
    return {
        stream: dataclasses.replace(topic(dataset), name=f"{prefix}.{dataset}.v1", partitions=2)
        for stream, dataset in (("trades", LIVE_TRADES), ("klines", LIVE_KLINES_1M), ("book", BOOK),
                                ("mark_price", LIVE_MARK_PRICE), ("liquidations", LIVE_LIQUIDATIONS))
    }


def dashboard_config(bootstrap: str, topics: dict[str, TopicSpec], **overrides) -> DashboardConfig:
    """Settings' defaults, pointed at `topics`; the live loader's metrics are not served in these tests, and the
    chart's history comes from the topics alone (no exchange)."""
    defaults = dict(instrument="binance.spot.ETHUSDT", push_ms=50, lookback_messages=300, candles=240, tape=40, client_queue=32,
                    metrics_urls=("http://127.0.0.1:9/metrics",), allowed_hosts=("localhost", "127.0.0.1"), history_urls=None)
    return DashboardConfig(kafka=kafka_config(bootstrap), **topics, **(defaults | overrides))


def now_us() -> int:
    return time.time_ns() // 1000


def _times(us: list[int]) -> pl.Series:
    return pl.Series(us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


class LiveMarket:
    """Publishes trades, 1-minute klines and top-N book snapshots for some instruments, and a perpetual's mark prices
    and liquidations, to the given topics."""

    def __init__(self, kafka: dict, trades: TopicSpec, klines: TopicSpec, book: TopicSpec, mark_price: TopicSpec,
                 liquidations: TopicSpec, seed: int = 1):
        self.producer = shared_producer(kafka)
        self.topics = {"trades": trades, "klines": klines, "book": book, "mark_price": mark_price, "liquidations": liquidations}
        self.rng = np.random.default_rng(seed)
        self.price = dict(START_PRICES)
        self.next_id = {instrument: 1_000_000 for instrument in START_PRICES}
        self.update_id = 5_000_000

    def publish(self, stream: str, instrument: str, df: pl.DataFrame, flush: bool = True) -> None:
        spec = self.topics[stream]
        send_rows(self.producer, spec, rows_of(df), spec.record.time_column)
        if flush:
            self.producer.flush()

    def _walk(self, instrument: str, n: int, scale: float) -> np.ndarray:
        if market_of(instrument).spot is not None and spot_of(instrument) in self.price:  # a perpetual follows its spot
            self.price[instrument] = self.price[spot_of(instrument)] * (1 + BASIS)
        steps = self.rng.normal(0, scale, n).cumsum()
        prices = np.round(self.price[instrument] * np.exp(steps), 2)
        self.price[instrument] = float(prices[-1])
        return prices

    def trades(self, instrument: str, n: int, at_us: int | None = None, flush: bool = True) -> list[int]:
        """Publish `n` trades stamped `at_us` (default now), spread over the last ms; return their agg ids. Without
        `flush`, the message waits in the producer with the ones sent after it (a burst)."""
        end = at_us or now_us()
        ids = list(range(self.next_id[instrument], self.next_id[instrument] + n))
        self.next_id[instrument] += n
        df = pl.DataFrame({
            "instrument": [instrument] * n, "agg_id": ids, "price": self._walk(instrument, n, 0.0002),
            "qty": np.round(self.rng.exponential(0.8, n), 4), "first_trade_id": ids, "last_trade_id": ids,
            "time": _times([end - (n - 1 - i) for i in range(n)]),
            "is_buyer_maker": self.rng.random(n) < 0.5, "is_best_match": [True] * n,
            "contract_size": [None] * n,
        })
        self.publish("trades", instrument, AGG_TRADE.conform(df), flush)
        return ids

    def kline_history(self, instrument: str, minutes: int) -> None:
        """Publish `minutes` closed 1-minute klines ending before the current minute (what the chart looks back on)."""
        current = now_us() // MINUTE_US * MINUTE_US
        opens = [current - (minutes - i) * MINUTE_US for i in range(minutes)]
        closes = self._walk(instrument, minutes, 0.0015)
        previous = np.concatenate([[closes[0]], closes[:-1]])
        spread = np.abs(self.rng.normal(0, 0.0008, (2, minutes))) * closes
        volume = np.round(self.rng.gamma(2.0, 40.0, minutes), 3)
        df = pl.DataFrame({
            "instrument": [instrument] * minutes, "interval": ["1m"] * minutes, "open_time": _times(opens),
            "open": previous, "high": np.maximum(previous, closes) + spread[0], "low": np.minimum(previous, closes) - spread[1],
            "close": closes, "volume": volume, "close_time": _times([t + MINUTE_US - 1 for t in opens]),
            "quote_volume": volume * closes, "trade_count": (volume * 10).astype(np.int64),
            "taker_buy_base_volume": volume / 2, "taker_buy_quote_volume": volume * closes / 2,
        })
        self.publish("klines", instrument, KLINE.conform(df))

    def book(self, instrument: str, levels: int = 20) -> None:
        """Publish one top-`levels` snapshot around the current price."""
        self.update_id += 1
        mid, tick = self.price[instrument], 0.01 if self.price[instrument] > 10 else 0.001
        prices = {"bid": [mid - tick * (1 + 3 * i) for i in range(levels)], "ask": [mid + tick * (1 + 3 * i) for i in range(levels)]}
        rows = [
            (instrument, side, level, round(price, 2), float(np.round(self.rng.gamma(1.5, 2.0) * (1 + level / 4), 4)))
            for side, side_prices in prices.items() for level, price in enumerate(side_prices)
        ]
        df = pl.DataFrame(rows, schema=["instrument", "side", "level", "price", "qty"], orient="row").with_columns(
            time=_times([now_us()] * len(rows)).alias("time"), last_update_id=pl.lit(self.update_id),
        )
        self.publish("book", instrument, BOOK_SNAPSHOT.conform(df.select(BOOK_SNAPSHOT.names)))

    def mark_price(self, instrument: str, next_funding_us: int, funding_rate: float = 0.0001) -> None:
        """Publish one mark-price update of the perpetual `instrument` now: mark at its last price, index at its spot's."""
        mark, index = self.price[instrument], self.price.get(spot_of(instrument), self.price[instrument])
        df = pl.DataFrame({
            "instrument": [instrument], "time": _times([now_us()]), "mark_price": [mark], "index_price": [index],
            "estimated_settle_price": [index], "funding_rate": [funding_rate], "next_funding_time": _times([next_funding_us]),
        })
        self.publish("mark_price", instrument, MARK_PRICE.conform(df))

    def liquidation(self, instrument: str, side: str, qty: float) -> tuple:
        """Publish one filled liquidation of `instrument` at its last price now; return (time_us, side, price, qty)."""
        at, price = now_us(), self.price[instrument]
        df = pl.DataFrame({
            "instrument": [instrument], "time": _times([at]), "side": [side], "price": [price], "average_price": [price],
            "qty": [qty], "filled_qty": [qty], "status": ["FILLED"],
        })
        self.publish("liquidations", instrument, LIQUIDATION.conform(df))
        return at, side, price, qty

    @contextmanager
    def streaming(self, instruments: list[str], every_s: float = 0.1, trades_per_tick: int = 3) -> Iterator[None]:
        """Trades every `every_s` and a book snapshot every ~second for `instruments`, in a thread, until the block ends."""
        stop = threading.Event()

        def run() -> None:
            tick = 0
            while not stop.wait(every_s):
                for instrument in instruments:
                    self.trades(instrument, trades_per_tick)
                    if tick % 10 == 0:
                        self.book(instrument)
                tick += 1

        thread = threading.Thread(target=run, name="live-market", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
