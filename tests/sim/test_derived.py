"""Derived instruments: perpetuals follow spot with a mean-reverting basis, funding settles from the premium, mark
prices follow Binance's rule, liquidations cluster in fast moves, and OKX lists the same assets with a configurable
lag and basis — all from the same deterministic market."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from streamforge.errors import ConfigError, UnknownSymbolError
from streamforge.schemas import AGG_TRADE
from streamforge.sim import perps
from streamforge.sim.calendar import US_PER_DAY, US_PER_S, day_start_us
from streamforge.sim.derived import PriceModels
from streamforge.sim.market import Market
from streamforge.sim.server import SimConfig

from sim_cases import DAY, SEED, VOLUME, peak_lag

PERP, OKX_SPOT, OKX_SWAP = "binance.usdm.BTCUSDT", "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP"
HOUR_US = 3_600 * US_PER_S


def log_prices(market: Market, key: str, start_us: int, seconds: int) -> np.ndarray:
    return np.log(market.mid_prices(key, start_us + np.arange(seconds + 1, dtype=np.int64) * US_PER_S))


def test_the_perpetual_basis_mean_reverts_with_the_configured_half_life():
    models = PriceModels.parse(perp="premium_bps=2,basis_bps=8,half_life_s=600,regime_bps=0")
    market = Market(SEED, VOLUME, models=models)
    start, seconds = day_start_us(DAY), 2 * 86_400
    basis = (log_prices(market, PERP, start, seconds) - log_prices(market, "BTCUSDT", start, seconds)) / 1e-4
    assert basis.mean() == pytest.approx(2, abs=1) and basis.std() == pytest.approx(8, rel=0.15)
    lag = 120
    phi = np.corrcoef(basis[lag:], basis[:-lag])[0, 1]
    assert -lag * np.log(2) / np.log(phi) == pytest.approx(600, rel=0.2)


def test_a_planted_perpetual_lead_shows_in_the_cross_correlation():
    market = Market(SEED, VOLUME, models=PriceModels.parse(perp="lead_ms=2000,basis_bps=0.5,regime_bps=0"))
    start = day_start_us(DAY) + 12 * HOUR_US
    spot, perp = (np.diff(log_prices(market, key, start, 7_200)) for key in ("BTCUSDT", PERP))
    assert peak_lag(spot, perp, 30) == 2 and np.corrcoef(spot[2:], perp[:-2])[0, 1] > 0.9


@pytest.mark.parametrize(("lag_ms", "trailing", "leading"), [(3_000, "okx", "binance"), (-2_000, "binance", "okx")])
def test_okx_trails_or_leads_binance_by_the_configured_lag(lag_ms, trailing, leading):
    market = Market(SEED, VOLUME, models=PriceModels.parse(okx=f"lag_ms={lag_ms}"))
    start = day_start_us(DAY) + 6 * HOUR_US
    for binance, okx in (("BTCUSDT", OKX_SPOT), (PERP, OKX_SWAP)):
        returns = {name: np.diff(log_prices(market, key, start, 7_200)) for name, key in (("binance", binance), ("okx", okx))}
        assert peak_lag(returns[trailing], returns[leading], 30) == abs(lag_ms) // 1000


def test_by_default_okx_trails_binance_by_half_a_second(market):
    start = day_start_us(DAY) + 6 * HOUR_US
    binance, okx = (np.diff(log_prices(market, key, start, 7_200)) for key in ("BTCUSDT", OKX_SPOT))
    at = [np.corrcoef(okx[k:], binance[: binance.size - k])[0, 1] for k in range(3)]
    assert at[0] > 0.4 and at[1] > 0.4 and abs(at[0] - at[1]) < 0.1 and abs(at[2]) < 0.1


def test_funding_settles_from_the_premium_by_binances_formula(market):
    start, end = day_start_us(DAY), day_start_us(DAY) + 3 * US_PER_DAY
    funding = market.funding_rates(PERP, start, end)
    times = funding["funding_time"].dt.epoch("us").to_numpy()
    assert times.tolist() == list(range(start, end, 8 * HOUR_US))
    premium = weighted_premiums(market, PERP, times, 8)
    expected = np.round(premium + np.clip(0.0001 - premium, -0.0005, 0.0005), 8)
    assert funding["funding_rate"].to_list() == expected.tolist()
    assert funding["mark_price"].to_list() == market.mark_prices(PERP, times).tolist()


def weighted_premiums(market: Market, key: str, times: np.ndarray, hours: int) -> np.ndarray:
    """Binance's average premium index of the interval before each settlement: 5-s samples, weights 1..n."""
    weights = np.arange(1, hours * 720 + 1)
    samples = times[:, None] - hours * HOUR_US + weights[None, :] * 5 * US_PER_S
    return (market.premiums(key, samples.ravel()).reshape(samples.shape) * weights).sum(axis=1) / weights.sum()


def test_funding_moves_with_the_premium_over_weeks(market):
    start = day_start_us(DAY)
    funding = market.funding_rates(PERP, start, start + 20 * US_PER_DAY)
    rates, times = funding["funding_rate"].to_numpy(), funding["funding_time"].dt.epoch("us").to_numpy()
    assert 0.3 < (rates == 0.0001).mean() < 1, "the interest rate decides much of the time, not always"
    assert rates.max() > 0.0002
    by_premium = rates[np.argsort(weighted_premiums(market, PERP, times, 8))]
    assert (np.diff(by_premium) >= 0).all(), "a higher premium never pays less funding"


def test_since_2025_09_18_a_four_hour_perpetuals_funding_is_scaled():
    market = Market(SEED, VOLUME, universe=60)
    day = date(2025, 10, 1)
    key = next(i.id for i in market.instruments.values() if i.funding_hours == 4 and i.trading_on(day - timedelta(days=1)))
    funding = market.funding_rates(key, day_start_us(day), day_start_us(day) + US_PER_DAY)
    assert funding.height == 6
    premium = weighted_premiums(market, key, funding["funding_time"].dt.epoch("us").to_numpy(), 4)
    expected = np.clip((premium + np.clip(0.0001 - premium, -0.0005, 0.0005)) / 2, -perps.FUNDING_CAP, perps.FUNDING_CAP)
    assert funding["funding_rate"].to_list() == np.round(expected, 8).tolist()


def test_the_mark_price_is_the_median_of_binances_three_prices(market):
    for start, window in ((day_start_us(DAY), 60), (day_start_us(date(2025, 10, 1)), 30)):
        times = start + 9 * HOUR_US + np.arange(0, 3_600, 7, dtype=np.int64) * US_PER_S
        index, last = market.index_prices(PERP, times), market.mid_prices(PERP, times)
        settled = start + 8 * HOUR_US
        rate = market.funding_rates(PERP, settled, settled + 1)["funding_rate"][0]
        price1 = index * (1 + rate * (settled + 8 * HOUR_US - times) / (8 * HOUR_US))
        seconds = times[:, None] - np.arange(window)[None, :] * US_PER_S
        price2 = index + (market.mid_prices(PERP, seconds.ravel()) - market.index_prices(PERP, seconds.ravel())).reshape(seconds.shape).mean(axis=1)
        mark = market.mark_prices(PERP, times)
        assert np.allclose(mark, np.median([price1, price2, last], axis=0), rtol=1e-12)
        assert np.abs(mark / index - 1).max() < 0.005


def test_liquidations_cluster_in_fast_moves_and_hit_the_losing_side():
    market = Market(SEED, 0.2)
    start = day_start_us(DAY)
    liquidations = market.liquidations(PERP, start, start + US_PER_DAY)
    expected = perps.LIQUIDATIONS_PER_AGG_TRADE * len(market.day_agg_ids(PERP, DAY))
    assert abs(liquidations.height - expected) < 5 * np.sqrt(expected)
    path = log_prices(market, PERP, start, 86_400)
    move = path[1:] - path[np.maximum(np.arange(1, 86_401) - 60, 0)]
    second = ((liquidations["time"].dt.epoch("us").to_numpy() - start) // US_PER_S).astype(int)
    fast = np.abs(move) >= np.quantile(np.abs(move), 0.95)
    assert fast[second].mean() > 0.4, "a twentieth of the day holds most liquidations"
    assert (liquidations["side"].to_numpy() == np.where(move[second] < 0, "SELL", "BUY")).all()
    assert liquidations.schema == pl.Schema(perps.LIQUIDATION) and (liquidations["qty"] > 0).all()


def test_derived_instruments_trade_around_their_own_prices(market):
    perp, swap = market.day_trades(PERP, DAY), market.day_trades(OKX_SWAP, DAY)
    month = [DAY - timedelta(days=d) for d in range(30)]
    busier = sum(len(market.day_agg_ids(PERP, d)) for d in month) / sum(len(market.day_agg_ids("BTCUSDT", d)) for d in month)
    assert perp.schema == AGG_TRADE.polars and busier == pytest.approx(1.5, rel=0.15)
    assert (perp["time"].dt.epoch("us") % 1_000 == 0).all(), "futures times are milliseconds"
    lots = (swap["qty"] / market.spec(OKX_SWAP).contract_size / 0.01).to_numpy()
    assert np.allclose(lots, np.rint(lots), atol=1e-6), "OKX swaps trade whole lots of contracts"
    mid = market.mid_prices(PERP, perp["time"].dt.epoch("us").to_numpy())
    assert np.abs(perp["price"].to_numpy() / mid - 1).max() < 1e-4


def test_derived_prices_are_deterministic_and_join_up_at_midnight(market):
    midnight = day_start_us(DAY + timedelta(days=1))
    for key in (PERP, OKX_SPOT, OKX_SWAP):
        before, after = market.mid_prices(key, np.array([midnight - 1, midnight]))
        assert after == pytest.approx(before, rel=1e-9)
        assert Market(SEED, VOLUME).mid_price(key, midnight + 12_345) == market.mid_price(key, midnight + 12_345)


def test_bad_models_and_keys_are_refused_by_name(market, monkeypatch):
    for perp, okx, named in (("lead=5", "", "lead"), ("", "lag_ms=soon", "lag_ms=soon"), ("half_life_s=0", "", "half-life"), ("x", "", "'x'")):
        with pytest.raises(ConfigError, match=named):
            PriceModels.parse(perp, okx)
    with pytest.raises(UnknownSymbolError, match="not a perpetual"):
        market.funding_rates("BTCUSDT", 0, 1)
    with pytest.raises(UnknownSymbolError, match="<venue>.<market>.<SYMBOL>"):
        market.spec("binance.spot.btcusdt")
    with pytest.raises(UnknownSymbolError, match="kraken.spot.XBTUSD"):
        market.spec("kraken.spot.XBTUSD")
    monkeypatch.setenv("STREAMFORGE_SIM_OKX", "lag_ms=3000")
    monkeypatch.setenv("STREAMFORGE_SIM_UNIVERSE", "5")
    config = SimConfig.from_settings()
    assert config.models.okx.lag_ms == 3_000 and config.models.perp == PriceModels.parse().perp
    with pytest.raises(ConfigError, match="between 7 and 1000"):
        Market(config.seed, universe=config.universe)
    monkeypatch.setenv("STREAMFORGE_SIM_UNIVERSE", "all")
    with pytest.raises(ConfigError, match="STREAMFORGE_SIM_UNIVERSE='all'"):
        SimConfig.from_settings()


def test_funding_starts_one_interval_after_the_listing_and_ends_at_the_delisting():
    market = Market(SEED, VOLUME, universe=200)
    perpetuals = [i for i in market.instruments.values() if i.venue_market == "binance.usdm"]
    listed = next(i for i in perpetuals if i.listed and i.listed > date(2020, 1, 1))
    delisted = next(i for i in perpetuals if i.delisted and i.delisted > date(2020, 1, 1))

    def settlements(instrument, day: date) -> list[int]:
        start = day_start_us(day - timedelta(days=1))
        return market.funding_rates(instrument.id, start, start + 2 * US_PER_DAY)["funding_time"].dt.epoch("us").to_list()

    opened, step = day_start_us(listed.listed), listed.funding_hours * HOUR_US
    assert settlements(listed, listed.listed) == list(range(opened + step, opened + US_PER_DAY, step))
    closed, step = day_start_us(delisted.delisted), delisted.funding_hours * HOUR_US
    assert settlements(delisted, delisted.delisted) == list(range(closed - US_PER_DAY, closed + 1, step))


def test_a_futures_only_perpetual_is_listed_on_usdm_alone_and_its_index_is_its_own_asset_price(market):
    """1000PEPEUSDT: Binance spot lists PEPE itself, never the multiple, and OKX lists no 1000PEPE either."""
    key = "binance.usdm.1000PEPEUSDT"
    assert [i.id for i in market.instruments.values() if i.base_asset == "1000PEPE"] == [key]
    spec = market.spec(key)
    assert (spec.tick_size, spec.step_size, spec.listed, spec.funding_hours) == (1e-7, 1.0, date(2023, 5, 5), 8)
    assert all(key in Market(SEED, VOLUME, universe=size).instruments for size in (7, 50))
    times = day_start_us(DAY) + np.arange(0, 86_400, 600, dtype=np.int64) * US_PER_S
    own = np.exp(np.interp((times - day_start_us(DAY)) / US_PER_S, np.arange(86_401), market.prices.log_path("1000PEPE", DAY)))
    assert np.allclose(market.index_prices(key, times), own, rtol=1e-12)
    assert np.abs(market.mark_prices(key, times) / own - 1).max() < 0.005
    assert market.funding_rates(key, day_start_us(DAY), day_start_us(DAY) + US_PER_DAY).height == 3
    assert market.day_trades(key, DAY).height > 0 and market.day_trades(key, date(2023, 5, 4)).is_empty()
