"""The live path in Dagster on real parts: rows published through the live loaders' Kafka contract, sensors
evaluated against a real instance and broker, `live_capture` runs merging every cell of their offset ranges into the
store, offsets committed after success only, the live-vs-archive check, and a perpetual's mark prices and
liquidations captured the same way.

Publishing with `publisher.send_rows` is what `streamforge live` does (each instrument's partition, one Arrow batch per
partition and day holding every instrument of it), so these messages are what the sensors and the capture see in
production. Each test has its own topic prefix and consumer group: the broker lives for the whole session.
"""

import uuid
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest
from kafka import TopicPartition

from dagster_runs import store_snapshot
from resources import StoreResource
from sensors.live import live_activity, live_instruments, live_offsets_commit
from streamforge.bus.config import kafka_config
from streamforge.bus.offsets import group_offsets, partition_for
from streamforge.bus.publisher import shared_producer
from streamforge.bus.topics import build_topics, ensure_topics, topic
from streamforge.catalog import LIVE_LIQUIDATIONS, LIVE_MARK_PRICE, LIVE_TRADES, cell_key, dataset
from streamforge.live.publisher import rows_of, send_rows
from streamforge.live_capture import consumer_group
from streamforge.schemas import AGG_TRADE, LIQUIDATION, MARK_PRICE
from streamforge.sim.market import Market
from streamforge.store import EmbeddedStore
from streamforge_assets.live import DATASET_TAG, LIVE_VS_ARCHIVE, RANGES_TAG, live_capture_job
from streamforge_assets.partitions import INSTRUMENTS
from streamforge_assets.trades import trades
from trade_frames import trades_frame

pytestmark = pytest.mark.slow

COLLECTION = dataset(LIVE_TRADES).collection
ASSET = dg.AssetKey(dataset(LIVE_TRADES).asset_path)
MARKET = Market(seed=11, volume=0.01)  # the `sim` fixture's market: the archive the live capture is checked against
PARTITIONS = 2
# Two instruments that share a Kafka partition, and one in the other partition.
ETH, BTC, SOL = "binance.spot.ETHUSDT", "binance.spot.BTCUSDT", "binance.spot.SOLUSDT"
PERP = "binance.usdm.BTCUSDT"


@pytest.fixture(autouse=True)
def own_topics_and_group(monkeypatch):
    """Topics and a consumer group of the test's own; a loopback broker answers in milliseconds, so a read may stop
    after a short quiet spell."""
    monkeypatch.setenv("STREAMFORGE_TOPIC_PREFIX", f"capture-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("STREAMFORGE_TOPIC_PARTITIONS", str(PARTITIONS))
    monkeypatch.setenv("STREAMFORGE_LIVE_GROUP", f"capture-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("STREAMFORGE_LIVE_READ_IDLE_S", "0.3")


def today() -> date:
    return datetime.now(UTC).date()


def day_trades(instrument: str, day: date, n: int = 200, first: int = 1000) -> pl.DataFrame:
    return trades_frame([i * 1_000_000 for i in range(n)], [100 + i / 4 for i in range(n)], [1.0] * n,
                        instrument=instrument, day=day, first_agg_id=first)


def publish(bootstrap: str, frame: pl.DataFrame, name: str = LIVE_TRADES) -> None:
    """Publish `frame` to the live dataset `name`'s topic as the live loaders do."""
    config = kafka_config(bootstrap)
    spec = topic(name, build_topics())
    ensure_topics(config, (spec,))
    producer = shared_producer(config)
    futures = send_rows(producer, spec, rows_of(frame), dataset(name).record.time_column)
    producer.flush()
    for future in futures:
        future.get(timeout=10)


def activity_tick(instance, resources, cursor: str | None = None) -> dg.SensorResult:
    return live_activity(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"kafka": resources["kafka"]}))


def capture(instance, resources, request: dg.RunRequest):
    """Run what the sensor requested, as the daemon would."""
    return live_capture_job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=instance,
                                               resources=resources, raise_on_error=False)


def commit_tick(instance, resources, result, event_type: dg.DagsterEventType):
    run = instance.get_run_by_id(result.run_id)
    event = instance.get_records_for_run(run.run_id, of_type=event_type).records[0].event_log_entry.dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name=live_offsets_commit.name, dagster_event=event, dagster_instance=instance, dagster_run=run,
        resources={"kafka": resources["kafka"]},
    )
    return live_offsets_commit(context)


def committed(bootstrap: str, live: str = LIVE_TRADES) -> dict[int, int | None]:
    name = topic(live, build_topics()).name
    found = group_offsets(kafka_config(bootstrap), consumer_group(), [TopicPartition(name, p) for p in range(PARTITIONS)], 5)
    return {tp.partition: offset for tp, offset in found.items()}


def cell_materialisations(instance, key: str, asset: dg.AssetKey = ASSET) -> list[dict]:
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[key]), limit=10).records
    return [r.asset_materialization.metadata for r in records]


def test_instruments_share_partitions_as_the_tests_assume():
    assert partition_for(ETH, PARTITIONS) == partition_for(BTC, PARTITIONS) != partition_for(SOL, PARTITIONS)


def test_one_run_covers_every_moved_partition_and_a_tick_repeated_before_it_runs_asks_for_the_same_run(instance, resources, broker):
    publish(broker.bootstrap, pl.concat([day_trades(ETH, today()), day_trades(SOL, today(), 50)]))
    first = activity_tick(instance, resources)
    (request,) = first.run_requests
    assert request.tags == {DATASET_TAG: LIVE_TRADES, RANGES_TAG: request.run_config["ops"]["capture_live"]["config"]["ranges"]}
    ranges = request.tags[RANGES_TAG]
    assert ranges.startswith("0:0-") and ", 1:0-" in ranges and request.run_key == f"{LIVE_TRADES}@{ranges}#0"
    lag = next(o for o in first.asset_events if o.asset_key == ASSET)
    assert lag.metadata["kafka/lag"].value > 0 and lag.metadata["kafka/group"].value == consumer_group()
    again = activity_tick(instance, resources, first.cursor)
    assert [r.run_key for r in again.run_requests] == [request.run_key]  # Dagster launches a run key once
    assert again.asset_events == []  # the lag did not change


def test_a_capture_run_stores_every_cell_of_its_ranges_and_a_rerun_leaves_the_store_byte_identical(instance, resources, broker, tmp_path):
    yesterday = date.fromordinal(today().toordinal() - 1)
    frames = [day_trades(ETH, yesterday, 100), day_trades(ETH, today(), 120, first=1100), day_trades(BTC, today(), 80),
              day_trades(SOL, today(), 60)]
    publish(broker.bootstrap, pl.concat(frames))
    (request,) = activity_tick(instance, resources).run_requests
    result = capture(instance, resources, request)
    assert result.success
    store = EmbeddedStore(tmp_path / "store")
    for frame in frames:
        instrument, day = frame["instrument"][0], frame["time"][0].date()
        assert store.read(COLLECTION, AGG_TRADE, [instrument], day, day).equals(frame)
        [meta] = cell_materialisations(instance, cell_key(instrument, day))
        assert (meta["rows"].value, meta["rows_new"].value) == (frame.height, frame.height)
    snapshot = store_snapshot(tmp_path / "store")

    assert capture(instance, resources, request).success  # the same ranges again: nothing new
    assert cell_materialisations(instance, cell_key(ETH, today()))[0]["rows_new"].value == 0
    assert store_snapshot(tmp_path / "store") == snapshot


def test_offsets_are_committed_after_a_successful_run_and_never_for_a_failed_one(instance, resources, broker, tmp_path):
    publish(broker.bootstrap, day_trades(ETH, today(), 100))
    (request,) = activity_tick(instance, resources).run_requests
    succeeded = capture(instance, resources, request)
    assert succeeded.success and committed(broker.bootstrap) == {0: None, 1: None}

    commit_tick(instance, resources, succeeded, dg.DagsterEventType.RUN_SUCCESS)
    read = partition_for(ETH, PARTITIONS)
    after_first = committed(broker.bootstrap)
    assert after_first[read] > 0 and after_first[1 - read] is None

    publish(broker.bootstrap, day_trades(ETH, today(), 100, first=1100))
    tick = activity_tick(instance, resources)
    (request,) = tick.run_requests
    assert request.tags[RANGES_TAG].startswith(f"{read}:{after_first[read]}-"), "the next range starts where the last ended"
    broken = {**resources, "store": StoreResource(backend="nowhere", root=str(tmp_path / "store"))}
    failed = capture(instance, broken, request)
    assert not failed.success
    assert isinstance(commit_tick(instance, resources, failed, dg.DagsterEventType.RUN_FAILURE), dg.SkipReason)
    assert committed(broker.bootstrap) == after_first

    (retry,) = activity_tick(instance, resources).run_requests  # the failed range is asked for again
    assert retry.tags[RANGES_TAG] == request.tags[RANGES_TAG] and retry.run_key.endswith("#1")


def test_no_second_run_of_a_dataset_while_one_is_in_flight(instance, resources, broker):
    publish(broker.bootstrap, day_trades(BTC, today(), 20))
    (request,) = activity_tick(instance, resources).run_requests
    instance.create_run_for_job(live_capture_job, run_config=request.run_config, tags=request.tags)  # queued, not run
    publish(broker.bootstrap, day_trades(BTC, today(), 20, first=2000))
    result = activity_tick(instance, resources)
    assert isinstance(result, dg.SkipReason) or result.run_requests == []


def test_the_instruments_sensor_adds_a_new_instrument_from_the_batch_headers(instance, resources, broker):
    publish(broker.bootstrap, pl.concat([day_trades("binance.spot.DOTUSDT", today(), 10), day_trades(BTC, today(), 10)]))
    result = live_instruments(dg.build_sensor_context(instance=instance, resources={"kafka": resources["kafka"]}))
    (added,) = result.dynamic_partitions_requests
    assert added.partition_keys == ["binance.spot.DOTUSDT"]  # BTC is registered already

    instance.add_dynamic_partitions("instruments", added.partition_keys)  # what the daemon does with the add request
    again = live_instruments(dg.build_sensor_context(instance=instance, cursor=result.cursor, resources={"kafka": resources["kafka"]}))
    assert again.dynamic_partitions_requests == []


def midnight() -> datetime:
    return datetime.combine(today(), datetime.min.time(), UTC)


def mark_prices(seconds: range) -> pl.DataFrame:
    """Today's mark-price updates of PERP, one a second from midnight, as its markPrice@1s stream sends them."""
    return MARK_PRICE.conform(pl.DataFrame({
        "instrument": [PERP] * len(seconds),
        "time": [midnight() + timedelta(seconds=s) for s in seconds],
        "mark_price": [60_000 + s / 4 for s in seconds],
        "index_price": [59_990 + s / 4 for s in seconds],
        "estimated_settle_price": [59_995 + s / 4 for s in seconds],
        "funding_rate": [0.0001 - s / 2**24 for s in seconds],
        "next_funding_time": [midnight() + timedelta(hours=8)] * len(seconds),
    }))


def liquidations(*orders: tuple[int, str, float, float]) -> pl.DataFrame:
    """Today's filled liquidations of PERP, each (ms after midnight, side, price, qty), as its forceOrder stream
    reports them."""
    return LIQUIDATION.conform(pl.DataFrame({
        "instrument": [PERP] * len(orders),
        "time": [midnight() + timedelta(milliseconds=ms) for ms, _, _, _ in orders],
        "side": [side for _, side, _, _ in orders],
        "price": [price for _, _, price, _ in orders],
        "average_price": [price for _, _, price, _ in orders],
        "qty": [qty for _, _, _, qty in orders],
        "filled_qty": [qty for _, _, _, qty in orders],
        "status": ["FILLED"] * len(orders),
    }))


def test_a_perpetuals_mark_prices_and_liquidations_reach_their_collections_once_through_overlapping_runs(instance, resources, broker, tmp_path):
    instance.add_dynamic_partitions(INSTRUMENTS.name, [PERP])  # what `live_instruments` does when it first sees PERP
    marks = mark_prices(range(120))
    # Three liquidations in one millisecond, two of them on one side at one price: distinct orders, all kept.
    first = liquidations((5_000, "SELL", 60_001.0, 0.5), (5_000, "SELL", 60_001.0, 0.25), (5_000, "SELL", 60_000.5, 0.5))
    publish(broker.bootstrap, marks[:80], LIVE_MARK_PRICE)
    publish(broker.bootstrap, first, LIVE_LIQUIDATIONS)
    requests = {r.tags[DATASET_TAG]: r for r in activity_tick(instance, resources).run_requests}
    assert set(requests) == {LIVE_MARK_PRICE, LIVE_LIQUIDATIONS}
    assert all(capture(instance, resources, r).success for r in requests.values())

    # Before the commit sensor runs, more arrives, and what was read is written again (a producer's retry): the
    # next runs read from the same committed offsets, over everything the first ones stored.
    second = liquidations((5_000, "BUY", 60_010.0, 1.0), (61_000, "SELL", 59_900.0, 2.0))
    publish(broker.bootstrap, marks[60:], LIVE_MARK_PRICE)
    publish(broker.bootstrap, first, LIVE_LIQUIDATIONS)
    publish(broker.bootstrap, second, LIVE_LIQUIDATIONS)
    reruns = {r.tags[DATASET_TAG]: r for r in activity_tick(instance, resources).run_requests}
    assert set(reruns) == set(requests)
    for name, rerun in reruns.items():
        start = requests[name].tags[RANGES_TAG].split("-")[0]
        assert rerun.tags[RANGES_TAG].startswith(f"{start}-") and rerun.tags[RANGES_TAG] != requests[name].tags[RANGES_TAG]
    results = {name: capture(instance, resources, rerun) for name, rerun in reruns.items()}
    assert all(r.success for r in results.values())

    store, day = EmbeddedStore(tmp_path / "store"), today()
    stored = {name: store.read(dataset(name).collection, dataset(name).record, [PERP], day, day) for name in reruns}
    assert stored[LIVE_MARK_PRICE].equals(marks)
    assert stored[LIVE_LIQUIDATIONS].equals(pl.concat([first, second]).sort(list(LIQUIDATION.key)))
    for name, (rows, new) in {LIVE_MARK_PRICE: (120, 40), LIVE_LIQUIDATIONS: (5, 2)}.items():
        latest = cell_materialisations(instance, cell_key(PERP, day), dg.AssetKey(dataset(name).asset_path))[0]
        assert (latest["rows"].value, latest["rows_new"].value) == (rows, new)

    for name, result in results.items():
        commit_tick(instance, resources, result, dg.DagsterEventType.RUN_SUCCESS)
        assert committed(broker.bootstrap, name)[partition_for(PERP, PARTITIONS)] > 0
    after = activity_tick(instance, resources)
    assert isinstance(after, dg.SkipReason) or after.run_requests == []


def live_vs_archive(instance, resources, instrument: str, day: date, live: pl.DataFrame) -> dg.AssetCheckEvaluation:
    """Capture `live` through the live path, then materialise `trades` from the archive and return the check."""
    publish(resources["kafka"].bootstrap_servers, live)
    (request,) = activity_tick(instance, resources).run_requests
    assert capture(instance, resources, request).success
    result = dg.materialize([trades], partition_key=cell_key(instrument, day), instance=instance, resources=resources, raise_on_error=False)
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == LIVE_VS_ARCHIVE)


def test_a_day_captured_live_equals_its_archive(instance, resources):
    day = date(2025, 1, 6)
    check = live_vs_archive(instance, resources, SOL, day, MARKET.day_trades("SOLUSDT", day))
    assert check.passed, check.description
    details = check.metadata["details"].data[cell_key(SOL, day)]
    assert details["archive_rows"] == details["live_rows"] > 1000


def test_a_capture_missing_an_id_or_with_another_price_fails_naming_the_counts(instance, resources):
    day = date(2025, 1, 7)
    archive = MARKET.day_trades("ETHUSDT", day)
    lost, changed = archive["agg_id"][10], archive["agg_id"][20]
    live = archive.filter(pl.col("agg_id") != lost).with_columns(
        price=pl.when(pl.col("agg_id") == changed).then(pl.col("price") * 1.01).otherwise(pl.col("price"))
    )
    check = live_vs_archive(instance, resources, ETH, day, live)
    assert not check.passed
    assert f"1 archive ids missing from the live capture, first [{lost}]" in check.description
    assert f"1 ids with another price or quantity live than in the archive, first [{changed}]" in check.description
