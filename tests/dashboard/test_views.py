"""What the page is told: candles from klines and trades, a bounded tape, and bounded queues for slow browsers."""

from __future__ import annotations

import asyncio

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.dashboard import rows
from streamforge.dashboard.hub import _RESYNC, Client
from streamforge.dashboard.loader_metrics import parse
from streamforge.dashboard.views import InstrumentView

MINUTE_S = 60


def _trades(prices: list[float], seconds: list[int], instrument: str = "binance.spot.ETHUSDT") -> pl.DataFrame:
    n = len(prices)
    return pl.DataFrame({
        "instrument": [instrument] * n, "agg_id": list(range(n)), "price": prices, "qty": [1.0] * n,
        "first_trade_id": list(range(n)), "last_trade_id": list(range(n)),
        "time": pl.Series([s * 1_000_000 for s in seconds]).cast(pl.Datetime("us", "UTC")),
        "is_buyer_maker": [False] * n, "is_best_match": [True] * n,
        "contract_size": [None] * n,
    })


def test_trades_build_one_candle_per_minute_and_the_tape_keeps_the_newest():
    delta = rows.trades(_trades([10, 12, 9, 11, 20], [0, 10, 20, 59, 60]), tape=3)["binance.spot.ETHUSDT"]
    assert delta.trade_minutes == [(0, 10, 12, 9, 11, 4.0), (60, 20, 20, 20, 20, 1.0)]
    assert [t[4] for t in delta.trades] == [2, 3, 4]
    assert delta.last == {rows.TRADES: 60_000_000}


@settings(max_examples=50, deadline=None)
@given(
    instruments=st.lists(st.sampled_from(["binance.spot.ETHUSDT", "binance.spot.BTCUSDT", "binance.spot.SOLUSDT"]), min_size=1, max_size=60),
    tape=st.integers(1, 10),
)
def test_a_poll_of_interleaved_symbols_gives_each_symbol_what_its_own_trades_give(instruments, tape):
    n = len(instruments)
    seconds = sorted((i * 37) % 200 for i in range(n))
    mixed = _trades([float(i % 7 + 1) for i in range(n)], seconds).with_columns(pl.Series("instrument", instruments))
    deltas = rows.trades(mixed, tape)
    assert set(deltas) == set(instruments)
    for instrument, delta in deltas.items():
        alone = rows.trades(mixed.filter(pl.col("instrument") == instrument), tape)[instrument]
        assert (delta.trades, delta.trade_minutes, delta.last) == (alone.trades, alone.trade_minutes, alone.last)
        own = mixed.filter(pl.col("instrument") == instrument)
        assert [t[4] for t in delta.trades] == own["agg_id"].tail(tape).to_list()


def test_a_kline_replaces_the_trades_candle_and_later_trades_move_its_price_but_not_its_volume():
    view = InstrumentView("binance.spot.ETHUSDT", candles=10, tape=5)
    view.apply(rows.Delta(trade_minutes=[[0, 10, 12, 9, 11, 4.0]]))
    view.apply(rows.Delta(klines=[[0, 10, 13, 8, 11, 7.5]]))
    assert view.candles[0] == [10, 13, 8, 11, 7.5]
    view.apply(rows.Delta(trade_minutes=[[0, 14, 14, 14, 14, 1.0]]))
    assert view.candles[0] == [10, 14, 8, 14, 7.5]


def test_candles_are_bounded_and_an_update_carries_only_what_changed():
    view = InstrumentView("binance.spot.ETHUSDT", candles=3, tape=5)
    view.apply(rows.Delta(klines=[[m * MINUTE_S, 1, 1, 1, 1, 1] for m in range(5)], trades=[[1, 1.0, 1.0, 0, 7]]))
    assert sorted(view.candles) == [2 * MINUTE_S, 3 * MINUTE_S, 4 * MINUTE_S]
    first = view.take_update()
    assert [c[0] for c in first["candles"]] == sorted(view.candles) and len(first["trades"]) == 1
    assert not view.changed
    view.apply(rows.Delta(trade_minutes=[[4 * MINUTE_S, 2, 2, 2, 2, 1.0]]))
    assert [c[0] for c in view.take_update()["candles"]] == [4 * MINUTE_S]


def test_the_newest_book_snapshot_of_a_poll_wins_best_level_first():
    def level(update_id, side, lvl, price):
        return {"instrument": "binance.spot.ETHUSDT", "time": update_id, "last_update_id": update_id, "side": side, "level": lvl,
                "price": price, "qty": 1.0}

    df = pl.DataFrame([level(1, "bid", 0, 9.0), level(2, "ask", 1, 11.0), level(2, "ask", 0, 10.5),
                       level(2, "bid", 0, 10.0)]).with_columns(pl.col("time").cast(pl.Datetime("us", "UTC")))
    assert rows.book(df)["binance.spot.ETHUSDT"].book == {"time": 2, "bids": [(10.0, 1.0)], "asks": [(10.5, 1.0), (11.0, 1.0)]}


def test_a_client_that_falls_behind_loses_its_backlog_for_one_resync():
    async def scenario() -> Client:
        client = Client(websocket=None, queue_limit=3)
        for i in range(3):
            client.offer(f"update {i}")
        client.offer("update 3")  # the queue is full: the three queued updates are superseded
        return client

    client = asyncio.run(scenario())
    assert client.queue.qsize() == 1 and client.queue.get_nowait() is _RESYNC
    assert client.dropped == 3


def test_loader_metrics_keep_streamforge_samples_with_labels_and_drop_buckets():
    text = "\n".join([
        "# HELP streamforge_live_reconnects_total Reconnects.",
        "# TYPE streamforge_live_reconnects_total counter",
        'streamforge_live_reconnects_total{instrument="binance.spot.ETHUSDT"} 2.0',
        'streamforge_live_last_event_age_seconds{instrument="binance.spot.ETHUSDT",stream="aggTrade"} 0.25',
        'streamforge_live_publish_latency_seconds_bucket{le="0.1"} 7',
        "streamforge_live_publish_latency_seconds_count 9",
        "python_gc_objects_collected_total 12",
    ])
    assert parse(text) == [
        ("streamforge_live_reconnects_total", {"instrument": "binance.spot.ETHUSDT"}, 2.0),
        ("streamforge_live_last_event_age_seconds", {"instrument": "binance.spot.ETHUSDT", "stream": "aggTrade"}, 0.25),
        ("streamforge_live_publish_latency_seconds_count", {}, 9.0),
    ]
