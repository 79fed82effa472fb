"""The historical asset graph on real parts: simulator over sockets → trades → Kafka → candles → store.

Runs cover several partitions at once, as backfill runs do, so the IO manager's multi-partition path is what is
exercised. Faults are the simulator's own (wrong checksum, corrupt zip, malformed rows); the broker is a real
Kafka-protocol broker that the tests stop and restart.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from dagster_runs import make_resources, materialize_days, store_snapshot
from streamforge.schemas import AGG_TRADE, CANDLE
from streamforge.store import EmbeddedStore

pytestmark = pytest.mark.slow


def check_results(result) -> dict[str, bool]:
    return {
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}": e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def materialized_metadata(instance, asset: str, key: str) -> dict:
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset.split("/")), asset_partitions=[key]), limit=1, ascending=False
    ).records[0]
    return record.asset_materialization.metadata


def test_two_days_flow_through_kafka_into_the_store_and_pass_every_check(instance, resources, tmp_path):
    result = materialize_days(instance, resources, "BTCUSDT", "2025-01-01", "2025-01-02")
    assert result.success
    checks = check_results(result)
    assert len(checks) == 9 and all(checks.values()), checks

    store = EmbeddedStore(tmp_path / "store")
    trades_rows = {p.day: p.rows for p in store.partitions("trades")}
    assert set(trades_rows) == {date(2025, 1, 1), date(2025, 1, 2)}
    assert {p.rows for p in store.partitions("candles_1m")} == {1440}
    assert {p.rows for p in store.partitions("candles_5m")} == {288}

    meta = materialized_metadata(instance, "trades", "2025-01-02|binance.spot.BTCUSDT")
    per_key = meta["partitions"].data["2025-01-02|binance.spot.BTCUSDT"]
    assert per_key["rows"] == trades_rows[date(2025, 1, 2)]
    assert per_key["source"]["source"] == "dump"
    ranges = meta["kafka/offsets"].data["2025-01-02|binance.spot.BTCUSDT"]
    assert ranges and all(r["topic"] == "streamforge.aggtrades.v3" for r in ranges)
    # The candles' trade counts add up to the trades' raw trade ids.
    candles = store.read("candles_1m", CANDLE, ["binance.spot.BTCUSDT"], date(2025, 1, 2), date(2025, 1, 2))
    trades = store.read("trades", AGG_TRADE, ["binance.spot.BTCUSDT"], date(2025, 1, 2), date(2025, 1, 2))
    assert candles["trade_count"].sum() == (trades["last_trade_id"] - trades["first_trade_id"] + 1).sum()


def test_rematerialising_a_partition_gives_byte_identical_store_content(instance, resources, tmp_path):
    assert materialize_days(instance, resources, "ETHUSDT", "2025-01-03", "2025-01-03").success
    first = store_snapshot(tmp_path / "store")
    assert materialize_days(instance, resources, "ETHUSDT", "2025-01-03", "2025-01-03").success
    assert store_snapshot(tmp_path / "store") == first


def test_a_wrong_checksum_falls_back_to_rest_with_the_reason_recorded(instance, resources, faults, tmp_path):
    faults(bad_checksum="SOLUSDT:2025-01-04")
    assert materialize_days(instance, resources, "SOLUSDT", "2025-01-04", "2025-01-04").success
    source = materialized_metadata(instance, "trades", "2025-01-04|binance.spot.SOLUSDT")["partitions"].data["2025-01-04|binance.spot.SOLUSDT"]["source"]
    assert source["source"] == "rest"
    assert "checksum" in source["reason"].lower()


def test_a_dump_that_ends_early_is_completed_from_rest_before_publishing_and_the_metadata_says_so(
    instance, resources, faults, tmp_path
):
    faults(dump_ends_early="ETHUSDT:2025-01-08")
    result = materialize_days(instance, resources, "ETHUSDT", "2025-01-08", "2025-01-08")
    assert result.success and all(check_results(result).values())
    key = "2025-01-08|binance.spot.ETHUSDT"
    source = materialized_metadata(instance, "trades", key)["partitions"].data[key]["source"]
    assert source["source"] == "dump+rest"
    [filled] = source["filled_from_rest"]
    assert filled["last_id"] == source["last_id"] and filled["rows"] == filled["last_id"] - filled["first_id"] + 1
    stored = EmbeddedStore(tmp_path / "store").read("trades", AGG_TRADE, ["binance.spot.ETHUSDT"], date(2025, 1, 8), date(2025, 1, 8))
    assert stored["agg_id"].to_list() == list(range(source["first_id"], source["last_id"] + 1))


def test_a_dump_that_differs_from_rest_fails_its_check_naming_the_ids_and_stores_nothing(
    instance, resources, faults, tmp_path
):
    faults(dump_differs="SOLUSDT:2025-01-09")
    result = materialize_days(instance, resources, "SOLUSDT", "2025-01-09", "2025-01-09")
    assert not result.success
    evaluation = next(
        e.event_specific_data for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == "matches_exchange_rest"
    )  # fmt: skip
    assert not evaluation.passed
    details = evaluation.metadata["details"].data["2025-01-09|binance.spot.SOLUSDT"]
    assert details["first_differing_ids"] and all(i % 50 == 0 for i in details["first_differing_ids"])
    assert details["qty_differs"] == details["differing"] > 0
    assert str(details["first_differing_ids"][0]) in evaluation.description
    assert not (tmp_path / "store").exists() or EmbeddedStore(tmp_path / "store").partitions("trades") == []


def test_malformed_rows_fail_the_partition_naming_the_row_and_store_nothing(instance, resources, faults, tmp_path):
    faults(malformed="BTCUSDT:2025-01-05")
    result = materialize_days(instance, resources, "BTCUSDT", "2025-01-05", "2025-01-05")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.to_string()
    assert "BTCUSDT-aggTrades-2025-01-05" in message and "row" in message
    assert not (tmp_path / "store").exists() or EmbeddedStore(tmp_path / "store").partitions("trades") == []


def test_data_gone_from_the_bus_names_the_partition_to_rematerialise(instance, own_broker, sim, tmp_path):
    resources = make_resources(own_broker.bootstrap, sim, tmp_path)
    assert materialize_days(instance, resources, "BTCUSDT", "2025-01-06", "2025-01-06", selection=["trades"]).success
    own_broker.restart()  # memory-only broker: the topic and its data are gone, like data past retention
    result = materialize_days(instance, resources, "BTCUSDT", "2025-01-06", "2025-01-06", selection=["arangodb/trades"])
    assert not result.success
    message = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.to_string()
    assert "2025-01-06|binance.spot.BTCUSDT" in message and "re-materialise" in message


def test_broker_down_fails_the_run_clearly_and_a_rerun_after_restart_stores_the_same(instance, own_broker, sim, tmp_path):
    resources = make_resources(own_broker.bootstrap, sim, tmp_path)
    assert materialize_days(instance, resources, "ETHUSDT", "2025-01-07", "2025-01-07").success
    before = store_snapshot(tmp_path / "store")

    own_broker.stop()
    result = materialize_days(instance, resources, "ETHUSDT", "2025-01-07", "2025-01-07")
    assert not result.success
    message = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.to_string()
    assert own_broker.bootstrap in message
    assert store_snapshot(tmp_path / "store") == before

    own_broker.start()
    assert materialize_days(instance, resources, "ETHUSDT", "2025-01-07", "2025-01-07").success
    assert store_snapshot(tmp_path / "store") == before
