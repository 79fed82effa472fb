"""OKX through the same historical graph as Binance, on real parts: the simulator's OKX over sockets → trades →
Kafka → candles (checked against OKX's own candles) → store; funding for the swap; and the cross-venue view of the
same asset on both venues, with its band check — on a real Dagster instance and a real broker."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from streamforge.catalog import cell_key
from streamforge.schemas import AGG_TRADE, VENUE_ALIGNMENT, FUNDING_RATE
from streamforge.sim.market import Market
from streamforge.store import EmbeddedStore
from streamforge_assets.cross_venue import cross_venue
from dagster_runs import materialize_days
from streamforge.dates import day_bounds_us
from streamforge_assets.partitions import INSTRUMENTS

pytestmark = pytest.mark.slow

DAY = date(2025, 1, 2)
SPOT, SWAP, BINANCE = "okx.spot.BTC-USDT", "okx.swap.BTC-USDT-SWAP", "binance.spot.BTCUSDT"
MARKET = Market(11, 0.01)  # the integration simulator's market (tests/integration/conftest.py)


def checks(result) -> dict[str, bool]:
    return {
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}": e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def partition_metadata(instance, asset: str, key: str) -> dict:
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset.split("/")), asset_partitions=[key]), limit=1, ascending=False
    ).records[0]
    return record.asset_materialization.metadata["partitions"].data[key]


def materialize(instance, resources, instrument: str):
    """The instrument's historical graph for DAY: every historical asset of its market (a swap's funding too)."""
    return materialize_days(instance, resources, instrument, DAY.isoformat(), DAY.isoformat())


@pytest.fixture
def okx_instance(instance):
    instance.add_dynamic_partitions(INSTRUMENTS.name, [SPOT, SWAP])
    return instance


@pytest.mark.parametrize("instrument", [SPOT, SWAP])
def test_an_okx_day_flows_through_kafka_into_the_store_and_passes_every_check(okx_instance, resources, tmp_path, instrument):
    result = materialize(okx_instance, resources, instrument)
    assert result.success
    passed = checks(result)
    assert len(passed) == (10 if instrument == SWAP else 9) and all(passed.values()), passed  # a swap's funding too
    source = partition_metadata(okx_instance, "trades", cell_key(instrument, DAY))["source"]
    assert source["source"] == "files" and source["day_cut"].startswith("UTC")
    stored = EmbeddedStore(tmp_path / "store").read("trades", AGG_TRADE, [instrument], DAY, DAY)
    truth = MARKET.day_trades(instrument, DAY)
    assert stored["agg_id"].to_list() == truth["first_trade_id"].to_list()
    assert stored["contract_size"].unique().to_list() == [MARKET.spec(instrument).contract_size if instrument == SWAP else None]


def test_the_swap_s_funding_settlements_are_stored_with_their_interval(okx_instance, resources, tmp_path):
    assert materialize(okx_instance, resources, SWAP).success
    stored = EmbeddedStore(tmp_path / "store").read("funding", FUNDING_RATE, None, DAY, DAY)
    assert stored["instrument"].unique().to_list() == [SWAP] and stored.height == 3
    assert stored["funding_interval_hours"].unique().to_list() == [8] and stored["mark_price"].is_null().all()
    truth = MARKET.funding_rates(SWAP, *day_bounds_us(DAY))
    assert stored["funding_time"].to_list() == truth["funding_time"].to_list()


def test_the_same_asset_is_lined_up_across_venues_and_stays_within_the_band(okx_instance, resources, tmp_path):
    for instrument in (BINANCE, SPOT):
        assert materialize(okx_instance, resources, instrument).success
    result = dg.materialize([cross_venue], instance=okx_instance, resources=resources, partition_key=cell_key(SPOT, DAY),
                            raise_on_error=False)
    assert result.success
    assert checks(result) == {"cross_venue:within_band_of_other_venues": True}
    rows = EmbeddedStore(tmp_path / "store").read("cross_venue", VENUE_ALIGNMENT, [SPOT], DAY, DAY)
    assert rows.height == 288 and rows["counterparts"].unique().to_list() == [BINANCE]
    assert rows["diff_bps"].abs().max() < 50
    assert 0 < rows["volume_share"].mean() < 0.5  # OKX spot trades a quarter of Binance's activity in the simulator
    meta = partition_metadata(okx_instance, "cross_venue", cell_key(SPOT, DAY))
    assert meta["counterparts"] == [BINANCE] and meta["day_lead"]["lead_ms"] is not None


def test_cross_venue_without_its_counterparts_stored_fails_naming_them(okx_instance, resources):
    assert materialize(okx_instance, resources, SPOT).success
    result = dg.materialize([cross_venue], instance=okx_instance, resources=resources, partition_key=cell_key(SPOT, DAY),
                            raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "the stored candles_5m or trades of binance.spot.BTCUSDT on 2025-01-02 are missing" in failure.message or \
        "binance.spot.BTCUSDT on 2025-01-02 are missing" in str(failure.event_specific_data.error)
