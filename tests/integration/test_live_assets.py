"""The live path in Dagster on real parts: frames published through the live loader's Kafka contract, sensors
evaluated against a real instance and broker, `live_trades` materialised into the store, the live-vs-archive check.

Publishing with `codec.encode` + the shared producer, keyed by instrument with the `<day>|<instrument>` header, is
exactly what `streamforge live` does, so these frames are what the sensors and assets see in production. Each test
uses instruments of its own: the broker (and with it every consumer group) lives for the whole session.
"""

import json
import time
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl
import pytest
from kafka import TopicPartition

from dagster_runs import store_snapshot
from resources import StoreResource
from sensors.live import live_activity, live_instruments, live_offsets_commit
from streamforge.bus import codec
from streamforge.bus.config import kafka_config, max_message_bytes
from streamforge.bus.offsets import committed_offsets, partition_for
from streamforge.bus.publisher import shared_producer
from streamforge.bus.topics import ensure_topics, topic
from streamforge.catalog import LIVE_TRADES, cell_key, dataset
from streamforge.live_capture import consumer_group
from streamforge.schemas import AGG_TRADE
from streamforge.sim.market import Market
from streamforge.store import EmbeddedStore
from streamforge_assets.live import LIVE_VS_ARCHIVE, live_trades
from streamforge_assets.trades import trades
from trade_frames import trades_frame

pytestmark = pytest.mark.slow

LIVE = topic(LIVE_TRADES)
COLLECTION = dataset(LIVE_TRADES).collection
MARKET = Market(seed=11, volume=0.01)  # the `sim` fixture's market: the archive the live capture is checked against


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch):
    """A loopback broker answers in milliseconds: a read may stop after a short quiet spell."""
    monkeypatch.setenv("STREAMFORGE_LIVE_READ_IDLE_S", "0.3")


def today() -> date:
    return datetime.now(UTC).date()


def todays_trades(symbol: str, n: int = 200) -> pl.DataFrame:
    return trades_frame([i * 1_000_000 for i in range(n)], [100 + i / 4 for i in range(n)], [1.0] * n, instrument=symbol, day=today())


def publish(bootstrap: str, frame: pl.DataFrame, day: date) -> None:
    """Publish `frame` (one symbol, one day) as the live loader does."""
    config = kafka_config(bootstrap)
    ensure_topics(config)
    producer = shared_producer(config)
    symbol = frame["instrument"][0]
    messages = codec.encode(AGG_TRADE, frame, cell_key(symbol, day), max_message_bytes())
    futures = [producer.send(LIVE.name, key=symbol.encode(), value=m.value, headers=m.headers) for m in messages]
    producer.flush()
    for future in futures:
        future.get(timeout=10)


def materialize_live(instance, resources, symbol: str, day: date):
    return dg.materialize([live_trades], partition_key=cell_key(symbol, day), instance=instance, resources=resources, raise_on_error=False)


def latest_metadata(instance, asset, key: str) -> dict:
    filter_ = dg.AssetRecordsFilter(asset_key=asset.key, asset_partitions=[key])
    return instance.fetch_materializations(filter_, limit=1, ascending=False).records[0].asset_materialization.metadata


def activity_tick(instance, resources, cursor: str | None) -> dg.SensorResult:
    return live_activity(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"kafka": resources["kafka"]}))


def run_status_tick(instance, resources, result, event_type: dg.DagsterEventType):
    run = instance.get_run_by_id(result.run_id)
    event = instance.get_records_for_run(run.run_id, of_type=event_type).records[0].event_log_entry.dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name=live_offsets_commit.name, dagster_event=event, dagster_instance=instance, dagster_run=run,
        resources={"kafka": resources["kafka"]},
    )
    return live_offsets_commit(context)


def group_offset(bootstrap: str, symbol: str) -> int | None:
    tp = TopicPartition(LIVE.name, partition_for(symbol, LIVE.partitions))
    return committed_offsets(kafka_config(bootstrap), {consumer_group(symbol): tp}, 5)[consumer_group(symbol)]


def test_the_activity_sensor_requests_nothing_without_new_data(instance, resources, broker):
    publish(broker.bootstrap, todays_trades("binance.spot.BTCUSDT", 10), today())
    first = activity_tick(instance, resources, None)
    assert first.run_requests
    second = activity_tick(instance, resources, first.cursor)
    assert second.run_requests == [] and second.cursor == first.cursor


def test_new_live_data_requests_todays_partitions_with_offset_run_keys_and_records_lag(instance, resources, broker):
    publish(broker.bootstrap, todays_trades("binance.spot.BTCUSDT", 10), today())
    before = activity_tick(instance, resources, None)
    publish(broker.bootstrap, todays_trades("binance.spot.ETHUSDT"), today())
    started = time.monotonic()
    result = activity_tick(instance, resources, before.cursor)
    assert time.monotonic() - started < 3, "a tick is metadata calls only"

    p = str(partition_for("binance.spot.ETHUSDT", LIVE.partitions))
    old_end, new_end = json.loads(before.cursor)["ends"][p], json.loads(result.cursor)["ends"][p]
    assert new_end > old_end
    key = cell_key("binance.spot.ETHUSDT", today())
    assert {(r.partition_key, r.run_key) for r in result.run_requests} >= {(key, f"{key}@{p}:{old_end}-{new_end}")}
    lag = next(o for o in result.asset_events if o.partition == key)
    assert lag.asset_key == live_trades.key and lag.metadata["kafka/lag"].value == new_end  # nothing committed yet


def test_live_trades_merges_overlapping_reads_and_a_rerun_leaves_the_store_byte_identical(instance, resources, broker, tmp_path):
    instance.add_dynamic_partitions("instruments", ["binance.spot.ADAUSDT"])
    frame = todays_trades("binance.spot.ADAUSDT")
    publish(broker.bootstrap, frame[:120], today())
    assert materialize_live(instance, resources, "binance.spot.ADAUSDT", today()).success
    publish(broker.bootstrap, frame[80:], today())  # overlaps the first 40 rows already stored
    assert materialize_live(instance, resources, "binance.spot.ADAUSDT", today()).success

    key = cell_key("binance.spot.ADAUSDT", today())
    meta = latest_metadata(instance, live_trades, key)
    assert (meta["rows"].value, meta["rows_new"].value) == (200, 80)
    read = next(iter(meta["kafka/read"].data.values()))
    assert read["matching"] == 1 and read["start"] < read["next"]  # only the new message, where the last read stopped
    stored = EmbeddedStore(tmp_path / "store").read(COLLECTION, AGG_TRADE, ["binance.spot.ADAUSDT"], today(), today())
    assert stored.equals(frame)
    snapshot = store_snapshot(tmp_path / "store")

    with dg.instance_for_test() as fresh:  # no record of earlier reads: everything is read again from the beginning
        fresh.add_dynamic_partitions("instruments", ["binance.spot.ADAUSDT"])
        assert materialize_live(fresh, resources, "binance.spot.ADAUSDT", today()).success
        assert latest_metadata(fresh, live_trades, key)["rows_new"].value == 0
    assert store_snapshot(tmp_path / "store") == snapshot


def test_offsets_are_committed_after_a_successful_run_and_never_for_a_failed_one(instance, resources, broker, tmp_path):
    instance.add_dynamic_partitions("instruments", ["binance.spot.LINKUSDT"])
    frame = todays_trades("binance.spot.LINKUSDT")
    publish(broker.bootstrap, frame[:100], today())
    succeeded = materialize_live(instance, resources, "binance.spot.LINKUSDT", today())
    assert succeeded.success and group_offset(broker.bootstrap, "binance.spot.LINKUSDT") is None

    run_status_tick(instance, resources, succeeded, dg.DagsterEventType.RUN_SUCCESS)
    read = next(iter(latest_metadata(instance, live_trades, cell_key("binance.spot.LINKUSDT", today()))["kafka/read"].data.values()))
    assert group_offset(broker.bootstrap, "binance.spot.LINKUSDT") == read["next"]

    publish(broker.bootstrap, frame[100:], today())
    broken = {**resources, "store": StoreResource(backend="nowhere", root=str(tmp_path / "store"))}
    failed = materialize_live(instance, broken, "binance.spot.LINKUSDT", today())
    assert not failed.success
    assert isinstance(run_status_tick(instance, resources, failed, dg.DagsterEventType.RUN_FAILURE), dg.SkipReason)
    assert group_offset(broker.bootstrap, "binance.spot.LINKUSDT") == read["next"]


def test_the_symbols_sensor_adds_a_new_symbol_and_requests_its_run_in_the_same_tick(instance, resources, broker):
    publish(broker.bootstrap, todays_trades("binance.spot.DOTUSDT", 10), today())
    context = dg.build_sensor_context(instance=instance, resources={"kafka": resources["kafka"]})
    result = live_instruments(context)
    (added,) = result.dynamic_partitions_requests  # with the other tests' symbols: every instance starts afresh
    assert "binance.spot.DOTUSDT" in added.partition_keys and "binance.spot.BTCUSDT" not in added.partition_keys
    assert cell_key("binance.spot.DOTUSDT", today()) in {r.partition_key for r in result.run_requests}

    instance.add_dynamic_partitions("instruments", added.partition_keys)  # what the daemon does with the add request
    again = live_instruments(dg.build_sensor_context(instance=instance, cursor=result.cursor, resources={"kafka": resources["kafka"]}))
    assert again.run_requests == [] and again.dynamic_partitions_requests == []


def live_vs_archive(instance, resources, symbol: str, day: date, live: pl.DataFrame) -> dg.AssetCheckEvaluation:
    """Capture `live` through the live path, then materialise `trades` from the archive and return the check."""
    publish(resources["kafka"].bootstrap_servers, live, day)
    assert materialize_live(instance, resources, symbol, day).success
    result = dg.materialize([trades], partition_key=cell_key(symbol, day), instance=instance, resources=resources, raise_on_error=False)
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == LIVE_VS_ARCHIVE)


def test_a_day_captured_live_equals_its_archive(instance, resources):
    day = date(2025, 1, 6)
    check = live_vs_archive(instance, resources, "binance.spot.SOLUSDT", day, MARKET.day_trades("SOLUSDT", day))
    assert check.passed, check.description
    details = check.metadata["details"].data[cell_key("binance.spot.SOLUSDT", day)]
    assert details["archive_rows"] == details["live_rows"] > 1000


def test_a_capture_missing_an_id_or_with_another_price_fails_naming_the_counts(instance, resources):
    day = date(2025, 1, 7)
    archive = MARKET.day_trades("ETHUSDT", day)
    lost, changed = archive["agg_id"][10], archive["agg_id"][20]
    live = archive.filter(pl.col("agg_id") != lost).with_columns(
        price=pl.when(pl.col("agg_id") == changed).then(pl.col("price") * 1.01).otherwise(pl.col("price"))
    )
    check = live_vs_archive(instance, resources, "binance.spot.ETHUSDT", day, live)
    assert not check.passed
    assert f"1 archive ids missing from the live capture, first [{lost}]" in check.description
    assert f"1 ids with another price or quantity live than in the archive, first [{changed}]" in check.description
