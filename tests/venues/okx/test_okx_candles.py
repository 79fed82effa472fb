"""Candles built from OKX trades equal OKX's own candles, field by field: the `candles` asset's check, on the real
client and simulator. OKX publishes no trade count or taker volumes; those are not compared, and the check says so."""

from __future__ import annotations

import polars as pl
import pytest

from streamforge.candles import aggregate
from streamforge.catalog import Cell
from streamforge.checks import candles_invariants, candles_match_klines

from okx_cases import DAY, MARKET, SPOT, SWAP


@pytest.mark.parametrize("instrument", [SPOT, SWAP])
@pytest.mark.parametrize("interval", ["1m", "5m"])
def test_candles_from_trades_equal_okx_s_candles(spot, swap, instrument, interval):
    client = spot if instrument == SPOT else swap
    cell = Cell(DAY, instrument)
    trades, _ = client.trades_day(cell)
    candles = aggregate(trades, interval, DAY, client.price_before(instrument, trades))
    venue = client.klines_day(cell, interval)
    assert candles_invariants(candles, interval, DAY).passed
    outcome = candles_match_klines(candles, venue)
    assert outcome.passed, outcome.description
    assert outcome.metadata["not_published_by_the_venue"] == ["taker_buy_base_volume", "taker_buy_quote_volume", "trade_count"]
    assert outcome.metadata["candles"] == venue.height == 86_400 // (60 if interval == "1m" else 300)


def test_the_price_before_a_day_is_okx_s_last_close_before_it(spot):
    trades, _ = spot.trades_day(Cell(DAY, SPOT))
    previous = MARKET.day_trades(SPOT, DAY.replace(day=DAY.day - 1))
    assert spot.price_before(SPOT, trades) == previous["price"][-1]


def test_a_wrong_trade_price_shows_as_a_candle_that_differs_from_okx_s(spot):
    cell = Cell(DAY, SPOT)
    trades, _ = spot.trades_day(cell)
    broken = trades.with_columns(pl.when(pl.int_range(pl.len()) == 1000).then(pl.col("price") * 1.01).otherwise("price").alias("price"))
    outcome = candles_match_klines(aggregate(broken, "5m", DAY, spot.price_before(SPOT, trades)), spot.klines_day(cell, "5m"))
    assert not outcome.passed and outcome.metadata["mismatching_rows"] == 1
