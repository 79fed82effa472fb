"""The generator as a specification: deterministic, contiguous, Binance-shaped, and with a lead-lag you can find."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE, KLINE
from streamforge.sim.calendar import US_PER_DAY, day_start_us
from streamforge.sim.klines import INTERVALS
from streamforge.sim.market import Market
from streamforge.sim.instruments import decimals

from sim_cases import DAY, SEED, VOLUME

SYMBOLS = Market(SEED, VOLUME).symbols
TRADING = [s for s, spec in SYMBOLS.items() if spec.delisted is None]
days = st.dates(min_value=date(2017, 1, 2), max_value=date(2030, 12, 31))


def on_grid(values: pl.Series, increment: float) -> bool:
    units = values.to_numpy() / increment
    return bool(np.allclose(units, np.rint(units), atol=1e-6, rtol=0))


def test_same_seed_gives_identical_trades_whatever_the_call_order():
    first, second = Market(SEED, VOLUME), Market(SEED, VOLUME)
    later = DAY + timedelta(days=1)
    a = [first.day_trades("ETHUSDT", DAY), first.day_trades("ETHUSDT", later)]
    b = [second.day_trades("ETHUSDT", later), second.day_trades("BTCUSDT", DAY), second.day_trades("ETHUSDT", DAY)]
    assert a[0].equals(b[2]) and a[1].equals(b[0])


def test_seed_volume_and_lead_lag_change_the_trades():
    base = Market(SEED, VOLUME).day_trades("ETHUSDT", DAY)
    assert not base.equals(Market(SEED + 1, VOLUME).day_trades("ETHUSDT", DAY))
    assert not base.equals(Market(SEED, VOLUME, lead_lag=False).day_trades("ETHUSDT", DAY))
    assert Market(SEED, VOLUME * 2).day_trades("ETHUSDT", DAY).height > base.height


@settings(max_examples=8, deadline=None)
@given(symbol=st.sampled_from(TRADING), day=days)
def test_every_day_is_a_valid_agg_trade_frame(market, symbol, day):
    trades = market.day_trades(symbol, day)
    spec = SYMBOLS[symbol]
    assert trades.schema == AGG_TRADE.polars and trades.height > 0
    assert (trades["agg_id"].diff().drop_nulls() == 1).all()
    assert (trades["first_trade_id"].shift(-1).drop_nulls() == (trades["last_trade_id"].head(-1) + 1)).all()
    assert (trades["last_trade_id"] >= trades["first_trade_id"]).all()
    times = trades["time"].dt.epoch("us")
    assert times.is_sorted() and times.min() >= day_start_us(day) and times.max() < day_start_us(day) + US_PER_DAY
    assert (trades["price"] > 0).all() and (trades["qty"] > 0).all()
    assert on_grid(trades["price"], spec.tick_size) and on_grid(trades["qty"], spec.step_size)
    assert list(market.day_agg_ids(symbol, day)) == trades["agg_id"].to_list()


@settings(max_examples=5, deadline=None)
@given(symbol=st.sampled_from(TRADING), day=days)
def test_agg_and_raw_trade_ids_continue_across_midnight(market, symbol, day):
    today, tomorrow = market.day_trades(symbol, day), market.day_trades(symbol, day + timedelta(days=1))
    assert tomorrow["agg_id"][0] == today["agg_id"][-1] + 1
    assert tomorrow["first_trade_id"][0] == today["last_trade_id"][-1] + 1


def test_pre_2025_trade_times_are_whole_milliseconds(market):
    times = market.day_trades("BTCUSDT", date(2024, 12, 31))["time"].dt.epoch("us")
    assert (times % 1000 == 0).all()
    assert (market.day_trades("BTCUSDT", DAY)["time"].dt.epoch("us") % 1000 != 0).any()


def test_full_volume_btcusdt_day_is_realistic():
    trades = Market(SEED, 1.0).day_trades("BTCUSDT", DAY)
    raw = trades["last_trade_id"][-1] - trades["first_trade_id"][0] + 1
    assert 800_000 < trades.height < 2_500_000 and 1_500_000 < raw < 6_000_000


def test_volume_scales_trade_counts(market):
    assert 7_000 < market.day_trades("BTCUSDT", DAY).height < 30_000
    busiest = max(TRADING, key=lambda s: market.day_trades(s, DAY).height)
    assert busiest == "BTCUSDT"


def test_agg_trades_range_is_end_exclusive_and_crosses_midnight(market):
    midnight = day_start_us(DAY + timedelta(days=1))
    window = market.agg_trades("BTCUSDT", midnight - 600_000_000, midnight + 600_000_000)
    times = window["time"].dt.epoch("us")
    assert times.min() < midnight <= times.max()
    last = int(times[-1])
    assert market.agg_trades("BTCUSDT", last, last).is_empty()
    assert market.agg_trades("BTCUSDT", last, last + 1)["time"].dt.epoch("us")[-1] == last


def test_agg_trades_from_id_continues_into_the_next_day(market):
    last_of_day = market.day_agg_ids("BTCUSDT", DAY)[-1]
    page = market.agg_trades_from_id("BTCUSDT", last_of_day - 4, day_start_us(DAY) + 2 * US_PER_DAY, limit=10)
    assert page["agg_id"].to_list() == list(range(last_of_day - 4, last_of_day + 6))


def test_luna_is_listed_but_not_trading(market):
    assert market.status("LUNAUSDT", DAY) == "BREAK" and market.status("binance.spot.LUNAUSDT", date(2017, 1, 1)) == "BREAK"
    assert market.day_trades("LUNAUSDT", DAY).is_empty()
    assert market.klines("LUNAUSDT", "1m", day_start_us(DAY), day_start_us(DAY) + US_PER_DAY).is_empty()


def test_unknown_symbol_and_interval_are_refused_by_name(market):
    with pytest.raises(UnknownSymbolError, match="BTCUSDX"):
        market.day_trades("BTCUSDX", DAY)
    with pytest.raises(ConfigError, match="7m"):
        market.klines("BTCUSDT", "7m", 0, 1)


@pytest.mark.parametrize("interval", ["1m", "5m", "1h", "1d"])
def test_klines_cover_every_interval_with_binance_semantics(interval):
    quiet = Market(SEED, 0.002)  # BNBUSDT then has empty minutes
    start = day_start_us(DAY)
    klines = quiet.klines("BNBUSDT", interval, start, start + US_PER_DAY)
    step = INTERVALS[interval]
    opens = klines["open_time"].dt.epoch("us")
    assert klines.schema == KLINE.polars and opens.to_list() == list(range(start, start + US_PER_DAY, step))
    assert (klines["close_time"].dt.epoch("us") == opens + step - 1).all()
    empty = klines.with_columns(prev_close=pl.col("close").shift(1)).filter(pl.col("trade_count") == 0)
    assert (empty["volume"] == 0).all()
    for column in ("open", "high", "low", "close"):
        assert (empty.drop_nulls("prev_close")[column] == empty.drop_nulls("prev_close")["prev_close"]).all()
    if interval == "1m":
        assert empty.height > 0, "the quiet market should have minutes without trades"


def test_open_kline_is_built_from_trades_so_far(market):
    start = day_start_us(DAY)
    as_of = start + 90 * 1_000_000  # 00:01:30
    klines = market.klines("BTCUSDT", "1m", start, start + 3_600_000_000, as_of_us=as_of)
    assert klines.height == 2
    so_far = market.agg_trades("BTCUSDT", start + 60_000_000, as_of + 1)
    assert klines["trade_count"][-1] == (so_far["last_trade_id"] - so_far["first_trade_id"] + 1).sum()


def test_price_path_joins_up_at_midnight(market):
    today, tomorrow = (market.prices.log_path("ETH", d) for d in (DAY, DAY + timedelta(days=1)))
    assert today.size == 86_401 and today[-1] == pytest.approx(tomorrow[0], abs=1e-12)


def test_prices_stay_near_realistic_2025_levels(market):
    for symbol in TRADING:
        price = market.day_trades(symbol, date(2025, 1, 1))["price"][0]
        assert 0.7 < price / market.asset(symbol).price_2025 < 1.4


def test_depth_is_a_deterministic_book_around_the_mid(market):
    moment = day_start_us(DAY) + 12 * 3_600_000_000
    book = market.depth("ETHUSDT", moment, 50)
    assert book == Market(SEED, VOLUME).depth("ETHUSDT", moment, 50)
    bids, asks = [p for p, _ in book.bids], [p for p, _ in book.asks]
    assert len(bids) == len(asks) == 50 and bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < market.mid_price("ETHUSDT", moment) < asks[0]
    assert round(asks[0] - bids[0], decimals(SYMBOLS["ETHUSDT"].tick_size)) == SYMBOLS["ETHUSDT"].tick_size
    assert all(q > 0 for _, q in book.bids + book.asks)
    assert market.depth("LUNAUSDT", moment, 10).bids == []
