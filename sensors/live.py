"""Sensors of the live path: topic activity launches `live_trades` runs, their success commits the consumer offsets,
and an instrument the live loader starts publishing joins the `instruments` partitions.

Each tick does bounded work well inside Dagster's 60 s limit: metadata calls (end offsets, committed offsets) with a
timeout of STREAMFORGE_LIVE_SENSOR_BUDGET_S, never a blocking poll of the data itself. End offsets are only an
activity signal (Tansu under-reports them); the runs read until the topic goes quiet, whatever the end offset said.

Offsets are committed by `live_offsets_commit` once a run that persisted them has succeeded, never inside the
activity sensor: committing before the run succeeds would report data as consumed that the store never received.
"""

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from kafka import TopicPartition

from resources import KafkaResource
from streamforge import settings
from streamforge.bus.offsets import commit_forward, committed_offsets, end_offsets, partition_for
from streamforge.bus.topics import topic
from streamforge.catalog import LIVE_TRADES, cell_key
from streamforge.errors import ConfigError
from streamforge.instruments import parse_instrument
from streamforge.live_capture import consumer_group, recent_keys
from streamforge_assets.jobs import live_job
from streamforge_assets.live import live_trades, persisted_offsets
from streamforge_assets.partitions import INSTRUMENTS


def _budget_s() -> float:
    return float(settings.get("STREAMFORGE_LIVE_SENSOR_BUDGET_S"))


def live_days(now: datetime) -> list[date]:
    """The days whose live partitions may still receive data: today, and yesterday for STREAMFORGE_LIVE_LATE_S after
    midnight, because its last trades reach the topic a little after the day ended."""
    today = now.astimezone(UTC).date()
    since_midnight = now - datetime(today.year, today.month, today.day, tzinfo=UTC)
    late = since_midnight < timedelta(seconds=float(settings.get("STREAMFORGE_LIVE_LATE_S")))
    return [today - timedelta(days=1), today] if late else [today]


@dg.sensor(job=live_job, default_status=dg.DefaultSensorStatus.RUNNING)
def live_activity(context: dg.SensorEvaluationContext, kafka: KafkaResource):
    """When the live topic's end offsets moved, request today's `live_trades` partitions of the instruments in the
    moved Kafka partitions; record each instrument's consumer lag (end − committed) as an observation when it changes.

    Cursor: {"ends": {kafka partition: end offset}, "lags": {instrument: lag}}. A run key names the offset range that
    triggered it, so a tick that is evaluated again (its cursor is saved only when it succeeds) launches nothing twice.
    Several instruments may share a Kafka partition; all of them are requested, and a run that finds nothing new for
    its instrument changes nothing.
    """
    cursor = json.loads(context.cursor) if context.cursor else {"ends": {}, "lags": {}}
    config, name = kafka.client_config(), topic(LIVE_TRADES).name
    ends = end_offsets(config, name, _budget_s())
    if not ends:
        return dg.SkipReason(f"the live topic {name} does not exist yet: is `streamforge live` running?")
    where = {i: partition_for(i, len(ends)) for i in sorted(context.instance.get_dynamic_partitions(INSTRUMENTS.name))}
    committed = committed_offsets(config, {consumer_group(s): TopicPartition(name, p) for s, p in where.items()}, _budget_s())
    days = live_days(datetime.now(UTC))
    requests, observations, lags = [], [], {}
    for instrument, p in where.items():
        before, end = cursor["ends"].get(str(p), 0), ends[p]
        if end != before:  # forward: new data; backward: the topic was recreated (the broker lost it)
            for day in days:
                key = cell_key(instrument, day)
                requests.append(dg.RunRequest(run_key=f"{key}@{p}:{before}-{end}", partition_key=key))
        done = committed[consumer_group(instrument)]
        lags[instrument] = max(0, end - (done or 0))
        if lags[instrument] != cursor["lags"].get(instrument):
            group = consumer_group(instrument)
            meta = {"kafka/lag": lags[instrument], "kafka/end_offset": end, "kafka/partition": p, "kafka/group": group}
            if done is not None:
                meta["kafka/committed_offset"] = done
            observations.append(dg.AssetObservation(live_trades.key, partition=cell_key(instrument, days[-1]), metadata=meta))
    return dg.SensorResult(
        run_requests=requests,
        asset_events=observations,
        cursor=json.dumps({"ends": {str(p): e for p, e in sorted(ends.items())}, "lags": lags}),
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING)
def live_offsets_commit(context: dg.RunStatusSensorContext, kafka: KafkaResource):
    """Commit, for each `live_trades` cell a successful run materialised, the offsets it persisted (never backwards).

    Dagster only calls this for successful runs; the status is checked again so that no other path can commit what a
    failed run read.
    """
    run = context.dagster_run
    if run.status != dg.DagsterRunStatus.SUCCESS:
        return dg.SkipReason(f"run {run.run_id} ended {run.status.value}: its offsets are not committed")
    records = context.instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    materialisations = [r.asset_materialization for r in records if r.asset_materialization.asset_key == live_trades.key]
    committed = {}
    for materialisation in materialisations:
        group, name, offsets = persisted_offsets(materialisation.metadata)
        done = commit_forward(kafka.client_config(), group, {TopicPartition(name, p): o for p, o in offsets.items()}, _budget_s())
        committed[group] = {tp.partition: o for tp, o in done.items()}
    context.log.info(f"run {run.run_id}: committed {committed or 'nothing new'}")


@dg.sensor(job=live_job, default_status=dg.DefaultSensorStatus.RUNNING)
def live_instruments(context: dg.SensorEvaluationContext, kafka: KafkaResource):
    """Add an instrument to the `instruments` partitions as soon as the live loader publishes it, and request its live
    run in the same tick (a run request for a partition Dagster does not know yet only works together with its add
    request).

    Reads the message keys that arrived since the cursor ({kafka partition: next offset}) for at most the sensor
    budget; the first tick looks back STREAMFORGE_LIVE_INSTRUMENTS_LOOKBACK messages per partition.
    """
    positions = {int(p): o for p, o in json.loads(context.cursor or "{}").items()}
    keys, positions = recent_keys(
        kafka.client_config(), topic(LIVE_TRADES).name, positions, int(settings.get("STREAMFORGE_LIVE_INSTRUMENTS_LOOKBACK")), _budget_s()
    )
    known = set(context.instance.get_dynamic_partitions(INSTRUMENTS.name))
    new = sorted(k for k in keys - known if _is_instrument(context, k))
    days = live_days(datetime.now(UTC))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"{cell_key(i, d)}@new-instrument", partition_key=cell_key(i, d)) for i in new for d in days
        ],
        dynamic_partitions_requests=[INSTRUMENTS.build_add_request(new)] if new else [],
        cursor=json.dumps({str(p): o for p, o in sorted(positions.items())}),
    )


def _is_instrument(context: dg.SensorEvaluationContext, key: str) -> bool:
    try:
        parse_instrument(key)
        return True
    except ConfigError as exc:
        context.log.warning(f"live topic key {key!r} is not an instrument, not added: {exc}")
        return False
