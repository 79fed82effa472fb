"""The cross-venue view: counterparts, price difference, volume share, who leads — on the simulator's market, whose
OKX trails Binance by a planted 500 ms (STREAMFORGE_SIM_OKX) — and the band check that flags a stale feed."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from streamforge.candles import aggregate
from streamforge.cross_venue import CrossVenueConfig, Identity, counterparts, line_up, within_band
from streamforge.errors import ConfigError, InsufficientDataError
from streamforge.sim.derived import PriceModels
from streamforge.sim.market import Market

DAY = date(2025, 1, 2)
BINANCE, OKX = "binance.spot.BTCUSDT", "okx.spot.BTC-USDT"
CONFIG = CrossVenueConfig(lag_step_ms=100, max_lag_ms=2000, band_bps=50)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(11, 0.1)  # OKX BTC-USDT trades about every 2.7 s: enough for every 5-minute interval


@pytest.fixture(scope="module")
def day(market) -> tuple[pl.DataFrame, pl.DataFrame]:
    trades = pl.concat([market.day_trades(i, DAY) for i in (BINANCE, OKX)])
    candles = pl.concat([aggregate(market.day_trades(i, DAY), "5m", DAY) for i in (BINANCE, OKX)])
    return candles, trades


def test_counterparts_are_the_same_currencies_on_the_same_kind_of_market_of_another_venue():
    identities = {
        BINANCE: Identity("binance", "BTC", "USDT", "spot"),
        OKX: Identity("okx", "BTC", "USDT", "spot"),
        "okx.swap.BTC-USDT-SWAP": Identity("okx", "BTC", "USDT", "perpetual"),
        "okx.spot.ETH-USDT": Identity("okx", "ETH", "USDT", "spot"),
        "binance.spot.BTCUSDC": Identity("binance", "BTC", "USDC", "spot"),
    }
    assert counterparts(OKX, identities) == [BINANCE]
    assert counterparts(BINANCE, identities) == [OKX]
    assert counterparts("okx.swap.BTC-USDT-SWAP", identities) == []


def test_the_planted_lead_is_found_binance_first_okx_500_ms_later(day):
    candles, trades = day
    assert PriceModels.parse().okx.lag_ms == 500
    okx = line_up(OKX, [BINANCE], candles, trades, DAY, CONFIG)
    binance = line_up(BINANCE, [OKX], candles, trades, DAY, CONFIG)
    assert okx.day_lead["lead_ms"] == -500 and binance.day_lead["lead_ms"] == 500
    rows = okx.rows
    assert rows["lead_ms"].median() == -500 and (rows["lead_ms"] < 0).sum() > 3 * (rows["lead_ms"] > 0).sum()


@pytest.mark.parametrize(("okx_lag_ms", "okx_lead_ms"), [(0, 0), (-800, 800)], ids=["control", "okx-leads"])
def test_other_planted_leads_are_found_too(okx_lag_ms, okx_lead_ms):
    market = Market(11, 0.1, models=PriceModels.parse(okx=f"lag_ms={okx_lag_ms}"))
    trades = pl.concat([market.day_trades(i, DAY) for i in (BINANCE, OKX)])
    candles = pl.concat([aggregate(market.day_trades(i, DAY), "5m", DAY) for i in (BINANCE, OKX)])
    assert line_up(OKX, [BINANCE], candles, trades, DAY, CONFIG).day_lead["lead_ms"] == okx_lead_ms


def test_price_difference_and_volume_share_line_up_per_interval(day):
    candles, trades = day
    rows = line_up(OKX, [BINANCE], candles, trades, DAY, CONFIG).rows
    assert rows.height == 288 and rows["counterparts"].unique().to_list() == [BINANCE]
    okx = candles.filter(pl.col("instrument") == OKX).sort("open_time")
    binance = candles.filter(pl.col("instrument") == BINANCE).sort("open_time")
    assert rows["diff_bps"].to_list() == pytest.approx(((okx["close"] / binance["close"] - 1) * 1e4).to_list())
    share = okx["quote_volume"] / (okx["quote_volume"] + binance["quote_volume"])
    assert rows["volume_share"].to_list() == pytest.approx(share.to_list())
    assert within_band(rows, 50).passed and rows["diff_bps"].abs().max() < 20  # a 2 bps basis plus 500 ms of moves


def test_a_stale_feed_leaves_the_band_and_is_named(day):
    candles, trades = day
    frozen = candles.with_columns(
        pl.when((pl.col("instrument") == OKX) & (pl.col("open_time").dt.hour() >= 12))
        .then(pl.lit(1.0) * candles.filter(pl.col("instrument") == OKX)["close"][143])
        .otherwise("close")
        .alias("close")
    )
    assert within_band(line_up(OKX, [BINANCE], candles, trades, DAY, CONFIG).rows, 25).passed
    rows = line_up(OKX, [BINANCE], frozen, trades, DAY, CONFIG).rows
    outcome = within_band(rows, 25)
    assert not outcome.passed and "intervals more than 25 bps from the other venues' median" in outcome.description
    assert outcome.metadata["first_outside"][0]["open_time"] >= "2025-01-02T12:00"


def test_a_day_without_all_of_its_candles_is_refused_naming_the_instrument(day):
    candles, trades = day
    with pytest.raises(InsufficientDataError, match=r"okx.spot.BTC-USDT has 287 of the 288 five-minute candles of 2025-01-02"):
        line_up(OKX, [BINANCE], candles.filter(~((pl.col("instrument") == OKX) & (pl.col("open_time").dt.hour() == 3) & (pl.col("open_time").dt.minute() == 0))), trades, DAY, CONFIG)
    with pytest.raises(InsufficientDataError, match="has no counterpart on another venue"):
        line_up(OKX, [], candles, trades, DAY, CONFIG)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lag_step_ms": 0}, "STREAMFORGE_CROSS_VENUE_LAG_STEP_MS=0: must be at least 1"),
        ({"max_lag_ms": 300_000}, "STREAMFORGE_CROSS_VENUE_MAX_LAG_MS=300000: must be in 0..299999"),
        ({"band_bps": 0}, "STREAMFORGE_CROSS_VENUE_BAND_BPS=0: must be positive"),
    ],
)
def test_settings_out_of_range_are_refused_by_name(values, message):
    with pytest.raises(ConfigError, match=message):
        CrossVenueConfig(**({"lag_step_ms": 100, "max_lag_ms": 2000, "band_bps": 50} | values))
