"""The checks pass on good data and, on bad data, fail naming what is wrong and counting it."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamforge.candles import aggregate
from streamforge.checks import (
    FUNDING_TOLERANCE_US,
    candles_invariants,
    candles_match_klines,
    candles_match_trades,
    funding_on_schedule,
    mark_within_band,
    price_klines_complete,
    trades_contiguous,
    trades_match_exchange,
)
from streamforge.instruments import CONTIGUOUS, market_of
from streamforge.schemas import FUNDING_RATE, KLINE, PRICE_KLINE
from trade_frames import DAY, DAY_START_US, MINUTE_US, day_of_trades, trades_frame


def minutes(*ms: int) -> list[int]:
    return [m * MINUTE_US for m in ms]


def a_day(instrument: str = "binance.spot.BTCUSDT") -> pl.DataFrame:
    return trades_frame(minutes(0, 1, 1, 2, 5, 1439), [10.0, 11.0, 9.0, 10.5, 12.0, 13.0], [1.0] * 6, instrument=instrument)


def klines_of(candles: pl.DataFrame) -> pl.DataFrame:
    """What the exchange would serve for these candles: the kline fields, volumes printed with 8 decimals."""
    volumes = ["volume", "quote_volume", "taker_buy_base_volume", "taker_buy_quote_volume"]
    return KLINE.conform(candles.drop("vwap").with_columns(pl.col(volumes).round(8)))


# --- trades_match_exchange


def test_a_day_equal_to_the_exchange_on_the_compared_ids_passes():
    day = a_day()
    outcome = trades_match_exchange(day, day.slice(1, 3))
    assert outcome.passed, outcome.description
    assert outcome.metadata["compared"] == 3 and outcome.metadata["differing"] == 0


def test_rows_that_differ_from_the_exchange_are_named_by_agg_id_with_both_values():
    day = a_day()
    exchange = day.with_columns(
        qty=pl.when(pl.col("agg_id") == 1002).then(2.0).otherwise(pl.col("qty")),
        is_buyer_maker=pl.col("agg_id") == 1004,
    )
    only_at_the_exchange = a_day().head(1).with_columns(agg_id=pl.lit(1010, pl.Int64))
    outcome = trades_match_exchange(day, pl.concat([exchange, only_at_the_exchange]))
    assert not outcome.passed
    assert outcome.metadata["first_differing_ids"] == [1002, 1004, 1010]
    assert outcome.metadata["qty_differs"] == 2 and outcome.metadata["is_buyer_maker_differs"] == 2
    assert outcome.description.startswith("3 of 7 agg ids differ from the exchange's REST aggTrades, first: ")
    assert outcome.metadata["first_differences"][0] == {"agg_id": 1002, "ours_vs_exchange": {"qty": ["1.0", "2.0"]}}
    assert outcome.metadata["first_differences"][2] == {"agg_id": 1010, "problem": "at the exchange, not in the day"}


def test_nothing_to_compare_passes_saying_so():
    assert trades_match_exchange(a_day(), a_day().head(0)).description == "no exchange rows to compare with"


# --- trades_contiguous


@settings(max_examples=50, deadline=None)
@given(trades=day_of_trades(max_trades=40))
def test_a_contiguous_day_passes_and_continues_the_previous_day(trades):
    first = trades["agg_id"][0]
    outcome = trades_contiguous(trades.sample(fraction=1.0, shuffle=True, seed=1), DAY, prev_last_id=first - 1)
    assert outcome.passed, outcome.description
    assert outcome.metadata["rows"] == trades.height and outcome.metadata["missing_ids"] == 0


@settings(max_examples=50, deadline=None)
@given(trades=day_of_trades(max_trades=40).filter(lambda t: t.height >= 3), data=st.data())
def test_removing_or_duplicating_a_trade_fails_naming_its_id(trades, data):
    i = data.draw(st.integers(1, trades.height - 2))
    agg_id = trades["agg_id"][i]
    removed = trades_contiguous(pl.concat([trades.head(i), trades.slice(i + 1)]), DAY)
    assert not removed.passed and str(agg_id) in removed.description
    assert removed.metadata["missing_ids"] == 1 and removed.metadata["first_missing_ids"] == [agg_id]
    duplicated = trades_contiguous(pl.concat([trades, trades.slice(i, 1)]), DAY)
    assert not duplicated.passed and str(agg_id) in duplicated.description
    assert duplicated.metadata["first_duplicated_ids"] == [agg_id]


def test_a_day_not_continuing_the_previous_one_fails_with_both_ids():
    outcome = trades_contiguous(a_day(), DAY, prev_last_id=990)
    assert not outcome.passed
    assert "1000" in outcome.description and "990" in outcome.description


def test_trades_outside_the_day_and_broken_raw_trade_ids_fail():
    outside = trades_contiguous(a_day(), date(2025, 1, 2))
    assert not outside.passed and outside.metadata["outside_day"] == 6
    broken = a_day().with_columns(
        pl.when(pl.col("agg_id") == 1003).then(pl.col("first_trade_id") + 7).otherwise(pl.col("first_trade_id")).alias("first_trade_id")
    )
    outcome = trades_contiguous(broken, DAY)
    assert not outcome.passed and "1003" in outcome.description
    assert outcome.metadata["bad_trade_id_ranges"] == 1


# OKX: ids ordered with time, gaps allowed (OKX does not document them contiguous), nothing else relaxed


def _okx_day(ids: list[int], offsets_us: list[int]) -> pl.DataFrame:
    day = trades_frame(offsets_us, [100.0] * len(ids), [1.0] * len(ids), instrument="okx.spot.BTC-USDT")
    return day.with_columns(pl.Series("agg_id", ids), pl.Series("first_trade_id", ids), pl.Series("last_trade_id", ids))


def test_increasing_ids_with_gaps_pass_and_the_gaps_are_counted():
    outcome = trades_contiguous(_okx_day([10, 11, 15, 40], [0, 5, 9, 20]), DAY, prev_last_id=7, contiguous=False)
    assert outcome.passed, outcome.description
    assert outcome.metadata["id_gaps"] == 2 and outcome.metadata["ids"] == "increasing"


@pytest.mark.parametrize(("ids", "offsets", "prev", "says"), [
    ([10, 11, 12], [0, 9, 5], None, "trade ids out of time order (earlier than the id before) at [12]"),
    ([10, 11, 12], [0, 5, 9], 10, "first trade id 10 is not above the previous day's last id 10"),
    ([10, 11, 11], [0, 5, 9], None, "1 agg ids duplicated, first [11]"),
    ([10, 11, 12], [0, 5, 86_400_000_000], None, "1 trades outside 2025-01-01"),
])
def test_okx_ids_that_break_what_okx_guarantees_fail_naming_them(ids, offsets, prev, says):
    outcome = trades_contiguous(_okx_day(ids, offsets), DAY, prev_last_id=prev, contiguous=False)
    assert not outcome.passed and says in outcome.description, outcome.description


def test_no_trades_fails():
    assert not trades_contiguous(a_day().clear(), DAY).passed


def test_several_instruments_are_checked_each_and_the_failing_one_named():
    eth = a_day("binance.spot.ETHUSDT").filter(pl.col("agg_id") != 1002)
    outcome = trades_contiguous(pl.concat([a_day(), eth]), DAY)
    assert not outcome.passed and outcome.description.startswith("binance.spot.ETHUSDT:") and "1002" in outcome.description
    assert outcome.metadata["failed_instruments"] == ["binance.spot.ETHUSDT"]
    assert outcome.metadata["by_instrument"]["binance.spot.BTCUSDT"]["rows"] == 6


# --- candles_invariants


def test_candles_of_a_day_satisfy_the_invariants():
    outcome = candles_invariants(aggregate(a_day(), "1m", DAY), "1m", DAY)
    assert outcome.passed, outcome.description
    assert outcome.metadata["candles"] == outcome.metadata["expected"] == 1440


def test_a_missing_candle_is_named_by_its_open_time():
    candles = aggregate(a_day(), "5m", DAY).filter(pl.col("open_time").dt.hour() != 3)
    outcome = candles_invariants(candles, "5m", DAY)
    assert not outcome.passed and outcome.metadata["missing"] == 12
    assert "2025-01-01T03:00:00+00:00" in outcome.description


def test_broken_ohlc_taker_volume_and_close_time_are_counted():
    candles = aggregate(a_day(), "1m", DAY).with_columns(
        high=pl.when(pl.col("trade_count") > 0).then(pl.col("low") - 1).otherwise(pl.col("high")),
        taker_buy_base_volume=pl.col("volume") + 1,
        close_time=pl.col("close_time") + pl.duration(microseconds=1),
    )
    md = candles_invariants(candles, "1m", DAY).metadata
    assert (md["ohlc_out_of_range"], md["taker_above_volume"], md["bad_close_time"]) == (5, 1440, 1440)


# --- candles_match_trades


def test_candles_match_their_trades_and_notice_a_lost_trade():
    trades = a_day()
    candles = aggregate(trades, "1m", DAY)
    assert candles_match_trades(candles, trades).passed
    outcome = candles_match_trades(candles, trades.head(5))
    assert not outcome.passed and "trade_count" in outcome.description
    assert (outcome.metadata["candles_trade_count"], outcome.metadata["trades_trade_count"]) == (6, 5)


# --- candles_match_klines


def test_candles_equal_the_exchanges_klines_at_8_decimals():
    trades = trades_frame(minutes(0, 3), [100.0, 100.1], [0.1, 0.2])  # 100.1 * 0.2 is not exact in binary
    candles = aggregate(trades, "1m", DAY)
    outcome = candles_match_klines(candles, klines_of(candles))
    assert outcome.passed, outcome.description
    assert outcome.metadata["mismatching_rows"] == 0 and outcome.metadata["no_trade_klines"] == 1438


def test_volumes_may_differ_below_the_8th_decimal_only():
    candles = aggregate(a_day(), "1m", DAY)
    klines = klines_of(candles)
    assert candles_match_klines(candles, klines.with_columns(pl.col("volume") + 4e-9)).passed
    outcome = candles_match_klines(candles, klines.with_columns(pl.col("volume") + 3e-8))
    assert not outcome.passed and outcome.metadata["volume_mismatches"] == 1440


def test_a_different_price_is_reported_with_the_row_and_both_values():
    candles = aggregate(a_day(), "1m", DAY)
    klines = klines_of(candles).with_columns(
        close=pl.when(pl.col("open_time") == candles["open_time"][5]).then(12.5).otherwise(pl.col("close"))
    )
    outcome = candles_match_klines(candles, klines)
    assert not outcome.passed and outcome.metadata["mismatching_rows"] == 1
    assert outcome.metadata["first_mismatches"] == [
        {"open_time": "2025-01-01T00:05:00+00:00", "ours_vs_exchange": {"close": ["12.0", "12.5"]}}
    ]


def test_a_missing_kline_is_a_gap_when_we_saw_no_trades_and_a_mismatch_when_we_did():
    candles = aggregate(a_day(), "1m", DAY)
    klines = klines_of(candles)
    no_data = candles_match_klines(candles, klines.filter(pl.col("open_time").dt.hour() != 7))
    assert no_data.passed and no_data.metadata["gaps"] == 60
    assert no_data.metadata["first_gaps"][0] == "2025-01-01T07:00:00+00:00"
    lost = candles_match_klines(candles, klines.filter(pl.col("trade_count") == 0))
    assert not lost.passed and lost.metadata["mismatching_rows"] == 5
    missing_candle = candles_match_klines(candles.slice(1), klines)
    assert not missing_candle.passed and missing_candle.metadata["first_mismatches"][0]["problem"].startswith("kline")


# --- a perpetual's checks (USD-M): the same trade and candle checks, then funding, mark band and price klines

PERP = "binance.usdm.BTCUSDT"
HOUR_US = 60 * MINUTE_US


def test_a_perpetuals_trade_ids_are_held_contiguous_and_a_lost_one_is_named():
    assert market_of(PERP).trade_ids == CONTIGUOUS  # what the trades asset passes as `contiguous`
    day = a_day(PERP).with_columns(is_best_match=pl.lit(None, pl.Boolean))  # futures trades carry no `M`
    assert trades_contiguous(day, DAY, prev_last_id=999).passed
    outcome = trades_contiguous(day.filter(pl.col("agg_id") != 1003), DAY, prev_last_id=999)
    assert not outcome.passed and outcome.description.startswith("1 agg ids missing, first [1003]")
    assert not trades_contiguous(day, DAY, prev_last_id=990).passed


def test_a_perpetuals_candles_equal_its_klines_and_a_differing_field_is_named():
    candles = aggregate(a_day(PERP), "5m", DAY)
    klines = klines_of(candles)
    assert candles_match_klines(candles, klines).passed
    outcome = candles_match_klines(candles, klines.with_columns(
        trade_count=pl.when(pl.col("open_time") == candles["open_time"][0]).then(9).otherwise(pl.col("trade_count"))
    ))
    assert not outcome.passed and outcome.metadata["trade_count_mismatches"] == 1
    assert outcome.metadata["first_mismatches"] == [
        {"open_time": "2025-01-01T00:00:00+00:00", "ours_vs_exchange": {"trade_count": ["4", "9"]}}
    ]


def settlements(hours_at: list[tuple[float, int]], late_us: int = 0) -> pl.DataFrame:
    """FUNDING_RATE rows at (hour of DAY, funding interval hours), `late_us` after the instant."""
    return FUNDING_RATE.conform(pl.DataFrame({
        "instrument": [PERP] * len(hours_at),
        "funding_time": [DAY_START_US + int(h * HOUR_US) + late_us for h, _ in hours_at],
        "funding_rate": [0.0001] * len(hours_at),
        "funding_interval_hours": [i for _, i in hours_at],
        "mark_price": [None] * len(hours_at),
    }, schema_overrides={"funding_time": pl.Int64, "mark_price": pl.Float64}).with_columns(
        pl.col("funding_time").cast(pl.Datetime("us", "UTC"))
    ))


EIGHT = [(0, 8), (8, 8), (16, 8)]
FOUR = [(h, 4) for h in range(0, 24, 4)]


@pytest.mark.parametrize("rows", [EIGHT, FOUR, [(0, 8), (8, 8), (12, 4), (16, 4), (20, 4)]], ids=["8h", "4h", "8h-then-4h"])
def test_one_settlement_per_funding_interval_passes_a_few_ms_late_included(rows):
    outcome = funding_on_schedule(settlements(rows, late_us=7_000), DAY, default_hours=8)
    assert outcome.passed, outcome.description
    assert outcome.metadata["settlements"] == outcome.metadata["expected"] == len(rows)


@pytest.mark.parametrize(
    ("rows", "default", "says"),
    [
        (EIGHT[:1] + EIGHT[2:], 8, "1 funding settlements missing, first at ['2025-01-01T08:00:00+00:00']"),
        (FOUR[:5], 4, "1 funding settlements missing, first at ['2025-01-01T20:00:00+00:00']"),
        (FOUR[1:], 4, "1 funding settlements missing, first at ['2025-01-01T00:00:00+00:00']"),
        (FOUR[:2] + FOUR[4:], 4, "2 funding settlements missing, first at ['2025-01-01T08:00:00+00:00', '2025-01-01T12:00:00+00:00']"),
        ([], 4, "6 funding settlements missing, first at ['2025-01-01T00:00:00+00:00'"),
        (EIGHT + [(8, 8)], 8, "1 funding intervals settled more than once, first at ['2025-01-01T08:00:00+00:00']"),
        (EIGHT + [(9, 8)], 8, "1 settlements off the 8-hour schedule, first at ['2025-01-01T09:00:00+00:00']"),
        ([(0, 8), (8, 8), (12, 4), (20, 4)], 4, "1 funding settlements missing, first at ['2025-01-01T16:00:00+00:00']"),
        ([(0, 8), (12, 4), (16, 4), (20, 4)], 4, "1 funding settlements missing, first at ['2025-01-01T08:00:00+00:00']"),
        ([(0, 8), (8, 8), (12, 4), (16, 4)], 4, "1 funding settlements missing, first at ['2025-01-01T20:00:00+00:00']"),
    ],
    ids=["8h-missing", "4h-last-missing", "4h-first-missing", "4h-two-in-a-row-missing", "none", "doubled", "off-schedule",
         "mixed-middle-missing", "mixed-at-the-switch-missing", "mixed-last-missing"],
)
def test_a_missing_doubled_or_stray_settlement_fails_naming_its_time(rows, default, says):
    outcome = funding_on_schedule(settlements(rows), DAY, default_hours=default)
    assert not outcome.passed and says in outcome.description, outcome.description


def test_a_settlement_more_than_a_second_late_is_off_schedule():
    outcome = funding_on_schedule(settlements(EIGHT, late_us=FUNDING_TOLERANCE_US), DAY, default_hours=8)
    assert not outcome.passed and outcome.metadata["first_off_schedule"][0] == "2025-01-01T00:00:01+00:00"


def price_klines(closes: list[float], kind_offset: float = 0.0) -> pl.DataFrame:
    """A day of 1m PRICE_KLINE rows of PERP closing at `closes` (cycled), open = close, high/low 0.1 around."""
    n = 1440
    close = [closes[i % len(closes)] + kind_offset for i in range(n)]
    return PRICE_KLINE.conform(pl.DataFrame({
        "instrument": [PERP] * n, "interval": ["1m"] * n,
        "open_time": [DAY_START_US + i * MINUTE_US for i in range(n)],
        "open": close, "high": [c + 0.1 for c in close], "low": [c - 0.1 for c in close], "close": close,
        "close_time": [DAY_START_US + (i + 1) * MINUTE_US - 1 for i in range(n)],
    }).with_columns(pl.col("open_time", "close_time").cast(pl.Datetime("us", "UTC"))))


BAND = (0.95, 1.05)  # the simulator's PERCENT_PRICE multipliers


def test_a_mark_price_within_the_band_of_the_index_passes():
    outcome = mark_within_band(price_klines([100.0, 104.9, 95.1]), price_klines([100.0]), BAND)
    assert outcome.passed, outcome.description
    assert outcome.metadata["minutes"] == 1440 and outcome.metadata["highest_ratio"] == pytest.approx(1.049)


def test_a_mark_price_outside_the_band_or_without_an_index_fails_naming_the_minute():
    index = price_klines([100.0])
    outside = mark_within_band(price_klines([100.0, 105.5]), index, BAND)
    assert not outside.passed and outside.metadata["outside"] == 720
    assert outside.metadata["first_outside"][0] == {"time": "2025-01-01T00:01:00+00:00", "mark": 105.5, "index": 100.0}
    below = mark_within_band(price_klines([100.0, 100.0, 94.0]), index, BAND)
    assert not below.passed and below.metadata["first_outside"][0]["time"] == "2025-01-01T00:02:00+00:00"
    unpaired = mark_within_band(price_klines([100.0]), index.slice(1), BAND)
    assert not unpaired.passed and unpaired.description == "1 minutes have a mark price or an index price but not both"


def test_a_day_of_price_klines_is_complete_and_a_missing_or_broken_minute_fails():
    day = price_klines([100.0])
    assert price_klines_complete(day, "1m", DAY).passed
    missing = price_klines_complete(day.slice(1), "1m", DAY)
    assert not missing.passed and "1439 klines (1439 distinct), a day has 1440" in missing.description
    broken = day.with_columns(high=pl.when(pl.col("open_time") == day["open_time"][3]).then(99.0).otherwise("high"))
    outcome = price_klines_complete(broken, "1m", DAY)
    assert not outcome.passed and outcome.metadata["first_bad"] == ["2025-01-01T00:03:00+00:00"]
