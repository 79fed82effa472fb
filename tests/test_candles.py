"""Candles follow Binance's kline rules: one per interval, OHLC in agg-id order, empty intervals at the previous close."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.candles import INTERVAL_US, aggregate, candles_per_day
from streamforge.checks import candles_invariants, candles_match_trades
from streamforge.errors import ConfigError, MalformedDataError
from streamforge.schemas import CANDLE
from trade_frames import DAY, DAY_START_US, MINUTE_US, day_of_trades, trades_frame


def minute(m: int, second: int = 0) -> int:
    return m * MINUTE_US + second * 1_000_000


@settings(max_examples=60, deadline=None)
@given(trades=day_of_trades(), interval=st.sampled_from(list(INTERVAL_US)))
def test_every_interval_has_a_candle_and_every_trade_is_counted_once(trades, interval):
    candles = aggregate(trades, interval, DAY)
    taker = trades.filter(~pl.col("is_buyer_maker"))
    assert candles.height == candles_per_day(interval)
    assert candles["volume"].sum() == trades["qty"].sum()
    assert candles["quote_volume"].sum() == (trades["price"] * trades["qty"]).sum()
    assert candles["trade_count"].sum() == (trades["last_trade_id"] - trades["first_trade_id"] + 1).sum()
    assert candles["taker_buy_base_volume"].sum() == taker["qty"].sum()
    assert candles["taker_buy_quote_volume"].sum() == (taker["price"] * taker["qty"]).sum()


@settings(max_examples=60, deadline=None)
@given(trades=day_of_trades(), interval=st.sampled_from(["1m", "5m", "1h"]))
def test_candles_pass_their_own_checks(trades, interval):
    candles = aggregate(trades, interval, DAY)
    assert candles_invariants(candles, interval, DAY).passed
    assert candles_match_trades(candles, trades).passed


@settings(max_examples=60, deadline=None)
@given(trades=day_of_trades(), prev_close=st.one_of(st.none(), st.integers(1, 400_000).map(lambda k: k / 4)))
def test_5m_candles_equal_1m_candles_rolled_up(trades, prev_close):
    """Prices roll up over the minutes that traded only: an empty minute's OHLC is the previous close, which is not
    a trade of the five minutes (a 5m candle opens at its first trade, as Binance's do)."""
    five = aggregate(trades, "5m", DAY, prev_close)
    traded = pl.col("trade_count") > 0
    rolled = (
        aggregate(trades, "1m", DAY, prev_close)
        .group_by(pl.col("open_time").dt.truncate("5m"), maintain_order=True)
        .agg(
            pl.col("open").filter(traded).first().fill_null(pl.col("open").first()),
            pl.col("high").filter(traded).max().fill_null(pl.col("high").first()),
            pl.col("low").filter(traded).min().fill_null(pl.col("low").first()),
            pl.col("close").last(),
            pl.col("volume", "quote_volume", "trade_count", "taker_buy_base_volume", "taker_buy_quote_volume").sum(),
        )
    )
    assert five.select(rolled.columns).equals(rolled)


def test_an_interval_without_trades_sits_at_the_previous_close_with_zero_volume():
    trades = trades_frame([minute(0, 10), minute(0, 50), minute(3, 5)], [100.0, 101.5, 99.0], [1.0, 2.0, 0.5])
    c = aggregate(trades, "1m", DAY)
    empty = c.row(1, named=True)
    assert (empty["open"], empty["high"], empty["low"], empty["close"], empty["vwap"]) == (101.5,) * 5
    assert (empty["volume"], empty["quote_volume"], empty["trade_count"]) == (0.0, 0.0, 0)
    assert c.row(2, named=True)["close"] == 101.5
    assert c.row(3, named=True)["open"] == 99.0
    assert c.row(1439, named=True)["close"] == 99.0


def test_leading_empty_intervals_take_prev_close_or_else_the_first_trade_price():
    trades = trades_frame([minute(2)], [100.0], [1.0])
    assert aggregate(trades, "1m", DAY, prev_close=98.5)["close"].head(2).to_list() == [98.5, 98.5]
    assert aggregate(trades, "1m", DAY)["close"].head(2).to_list() == [100.0, 100.0]


def test_open_and_close_follow_agg_id_order_whatever_the_row_order():
    trades = trades_frame([minute(5, s) for s in (1, 2, 3, 4)], [10.0, 12.0, 9.0, 11.0], [1.0] * 4)
    c = aggregate(trades.reverse(), "5m", DAY).row(1, named=True)
    assert (c["open"], c["high"], c["low"], c["close"]) == (10.0, 12.0, 9.0, 11.0)


def test_kline_fields_volumes_counts_taker_side_times_and_vwap():
    trades = trades_frame(
        [minute(0, 1), minute(0, 2), minute(0, 3)],
        [100.0, 200.0, 100.0],
        [1.0, 0.5, 2.0],
        raw_counts=[3, 1, 2],
        buyer_maker=[False, True, False],
    )
    c = aggregate(trades, "1m", DAY).row(0, named=True)
    assert c["volume"] == 3.5 and c["quote_volume"] == 400.0 and c["trade_count"] == 6
    assert c["taker_buy_base_volume"] == 3.0 and c["taker_buy_quote_volume"] == 300.0
    assert c["vwap"] == 400.0 / 3.5
    assert c["open_time"].timestamp() * 1_000_000 == DAY_START_US
    assert (c["close_time"] - c["open_time"]).total_seconds() == 60 - 1e-6


def test_several_instruments_give_candles_per_instrument_each_with_its_own_prev_close():
    trades = pl.concat(
        [
            trades_frame([minute(1)], [50.0], [1.0], instrument="binance.spot.ETHUSDT"),
            trades_frame([minute(3)], [100.0], [2.0], instrument="binance.spot.BTCUSDT"),
        ]
    )
    c = aggregate(trades, "1m", DAY, prev_close={"binance.spot.BTCUSDT": 99.0})
    assert c.group_by("instrument").len().sort("instrument").rows() == [("binance.spot.BTCUSDT", 1440), ("binance.spot.ETHUSDT", 1440)]
    first = c.filter(pl.col("open_time") == c["open_time"].min()).sort("instrument")
    assert first["close"].to_list() == [99.0, 50.0]  # ETHUSDT had no prev_close: its first trade price
    with pytest.raises(ConfigError, match="ambiguous"):
        aggregate(trades, "1m", DAY, prev_close=99.0)


def test_a_whole_day_candle_and_the_empty_day():
    trades = trades_frame([minute(0), minute(1439, 59)], [1.0, 3.0], [1.0, 1.0])
    assert aggregate(trades, "1d", DAY).select("open", "high", "low", "close", "volume").row(0) == (1.0, 3.0, 1.0, 3.0, 2.0)
    assert aggregate(trades.clear(), "1m", DAY).schema == CANDLE.polars


def test_unsupported_interval_and_trades_of_another_day_are_refused():
    trades = trades_frame([minute(0)], [1.0], [1.0])
    with pytest.raises(ConfigError, match="2m"):
        aggregate(trades, "2m", DAY)
    with pytest.raises(MalformedDataError, match="2025-01-02"):
        aggregate(trades, "1m", date(2025, 1, 2))
