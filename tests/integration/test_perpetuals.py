"""A perpetual through the historical graph on real parts: simulator over sockets → trades, candles, mark and index
klines, funding, open interest → Kafka → store → the basis beside its spot instrument, every blocking check run."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from dagster_runs import HISTORICAL, PERPETUAL
from streamforge.catalog import historical_assets
from streamforge.schemas import BASIS, FUNDING_RATE
from streamforge.store import EmbeddedStore
from streamforge_assets.partitions import INSTRUMENTS

pytestmark = pytest.mark.slow

PERP, SPOT, DAY = "binance.usdm.BTCUSDT", "binance.spot.BTCUSDT", "2025-01-02"
ASSETS = HISTORICAL + PERPETUAL


def run(instance, resources, instrument: str, selection: list[str]):
    return dg.materialize(
        ASSETS, instance=instance, resources=resources, partition_key=f"{DAY}|{instrument}", raise_on_error=False,
        selection=[dg.AssetKey(a.split("/")) for a in selection],
    )


def checks(result) -> dict[str, bool]:
    return {
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}": e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


@pytest.fixture
def perp_instance(instance):
    instance.add_dynamic_partitions(INSTRUMENTS.name, [PERP])
    return instance


def test_a_perpetual_day_flows_into_the_store_beside_its_spot_and_passes_every_check(perp_instance, resources, tmp_path):
    spot = run(perp_instance, resources, SPOT, historical_assets("binance.spot"))
    assert spot.success
    perp = run(perp_instance, resources, PERP, historical_assets("binance.usdm"))
    assert perp.success
    results = checks(perp)
    assert all(results.values()), results
    assert {"mark_price_1m:within_band_of_index", "funding:on_schedule", "candles_1m:matches_exchange_klines",
            "trades:agg_ids_contiguous", "basis_5m:every_interval"} <= set(results)

    store = EmbeddedStore(tmp_path / "store")
    day = date.fromisoformat(DAY)
    basis = store.read("basis_5m", BASIS, [PERP], day, day)
    assert basis.height == 288 and basis["spot_instrument"].unique().to_list() == [SPOT]
    assert basis["basis_bps"].abs().max() < 100  # perp follows spot with a basis of a few bps
    assert basis["open_interest"].null_count() == 288  # 2025-01 is older than the month the exchange serves
    assert store.read("funding", FUNDING_RATE, [PERP], day, day).height == 3
    meta = perp_instance.fetch_materializations(dg.AssetKey("open_interest_5m"), limit=1).records[0]
    assert "not available before" in meta.asset_materialization.metadata["partitions"].data[f"{DAY}|{PERP}"]["not_available"]


def test_a_perpetual_dataset_refuses_a_spot_cell_by_name(perp_instance, resources):
    result = run(perp_instance, resources, SPOT, ["funding"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "funding does not exist for binance.spot.BTCUSDT: it exists only for binance.usdm" in str(failure.event_specific_data.error)


def test_a_perpetual_that_binance_spot_does_not_list_has_an_empty_basis_whose_check_says_why(instance, resources):
    futures_only = "binance.usdm.1000PEPEUSDT"
    instance.add_dynamic_partitions(INSTRUMENTS.name, [futures_only])
    result = run(instance, resources, futures_only, ["basis_5m"])
    assert result.success and checks(result) == {"basis_5m:every_interval": True}
    meta = instance.fetch_materializations(dg.AssetKey("basis_5m"), limit=1).records[0].asset_materialization.metadata
    assert meta["partitions"].data[f"{DAY}|{futures_only}"] == {
        "rows": 0, "note": "binance.spot.1000PEPEUSDT is not listed by its venue: binance.usdm.1000PEPEUSDT has no spot "
                           "instrument, so no basis",
    }
