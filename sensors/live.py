"""Sensors of the live path: topic activity launches `live_capture` runs, their success commits the consumer offsets,
and an instrument the live loaders start publishing joins the `instruments` partitions.

Runs cover Kafka partitions, not instruments: per live dataset kept in the store (`LIVE_STORED`), one run reads,
for every partition whose end moved past the group's committed offset, the range from that offset to the end the
sensor saw, whatever instruments and days it holds. At most one run per dataset is in flight, and the sensor looks
every STREAMFORGE_LIVE_CAPTURE_INTERVAL_S, so the run rate is bounded by the datasets, not the instruments: at 200
instruments as at 2. A run key names the offset ranges and the attempt, so a tick evaluated again (its cursor is
saved only when it succeeds) launches nothing twice, and a range whose run failed is tried again.

Each tick does bounded work well inside Dagster's 60 s limit: metadata calls (end offsets, committed offsets) with a
timeout of STREAMFORGE_LIVE_SENSOR_BUDGET_S, never a blocking poll of the data itself. End offsets are the range's
end; Tansu under-reports them after batched produce, so there the run reads a little short and the next one
continues. Offsets are committed by `live_offsets_commit` once the run that persisted them has succeeded, never
inside the activity sensor: committing before would report data as consumed that the store never received.
"""

import json

import dagster as dg
from kafka import TopicPartition

from resources import KafkaResource
from streamforge import settings
from streamforge.bus.offsets import commit_forward, end_offsets, group_offsets
from streamforge.bus.topics import build_topics, topic
from streamforge.errors import ConfigError
from streamforge.instruments import parse_instrument
from streamforge.live_capture import Range, consumer_group, recent_instruments
from streamforge_assets.live import DATASET_TAG, LIVE_STORED, RANGES_TAG, live_capture_job, persisted_offsets
from streamforge_assets.partitions import INSTRUMENTS

IN_FLIGHT = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


def _budget_s() -> float:
    return float(settings.get("STREAMFORGE_LIVE_SENSOR_BUDGET_S"))


@dg.sensor(job=live_capture_job, default_status=dg.DefaultSensorStatus.RUNNING,
           minimum_interval_seconds=int(settings.get("STREAMFORGE_LIVE_CAPTURE_INTERVAL_S")))
def live_activity(context: dg.SensorEvaluationContext, kafka: KafkaResource):
    """For each live dataset kept in the store, request one `live_capture` run over every Kafka partition whose end
    moved past the committed offset — unless one is still in flight — and record the consumer lag (end − committed,
    per partition and in all) as an observation of the dataset's asset when it changes. Cursor: {dataset: lag}."""
    lags = json.loads(context.cursor) if context.cursor else {}
    config, group = kafka.client_config(), consumer_group()
    requests, observations, skipped = [], [], []
    for live in LIVE_STORED:
        name = topic(live.name, build_topics()).name
        ends = end_offsets(config, name, _budget_s())
        if not ends:
            skipped.append(f"the live topic {name} does not exist yet: is `streamforge live` running?")
            continue
        committed = group_offsets(config, group, [TopicPartition(name, p) for p in ends], _budget_s())
        done = {p: committed[TopicPartition(name, p)] or 0 for p in ends}
        ranges = [Range(p, done[p], end) for p, end in sorted(ends.items()) if end > done[p]]
        lag = {str(p): max(0, end - done[p]) for p, end in sorted(ends.items())}
        if lag != lags.get(live.name):
            observations.append(dg.AssetObservation(live.asset_path, metadata={
                "kafka/lag": sum(lag.values()), "kafka/lag_by_partition": dg.MetadataValue.json(lag), "kafka/group": group,
            }))
        lags[live.name] = lag
        if not ranges:
            continue
        if context.instance.get_runs_count(dg.RunsFilter(job_name=live_capture_job.name, statuses=IN_FLIGHT,
                                                         tags={DATASET_TAG: live.name})):
            skipped.append(f"{live.name}: the last capture run is still in flight")
            continue
        text = ", ".join(map(str, ranges))
        earlier = context.instance.get_runs(dg.RunsFilter(job_name=live_capture_job.name,
                                                          tags={DATASET_TAG: live.name, RANGES_TAG: text}))
        if any(r.status == dg.DagsterRunStatus.SUCCESS for r in earlier):
            skipped.append(f"{live.name}: {text} was captured; its offsets are being committed")
            continue
        requests.append(dg.RunRequest(
            run_key=f"{live.name}@{text}#{len(earlier)}",  # a failed attempt is tried again
            run_config={"ops": {"capture_live": {"config": {"dataset": live.name, "ranges": text}}}},
            tags={DATASET_TAG: live.name, RANGES_TAG: text},
        ))
    if not requests and not observations and skipped:
        return dg.SkipReason("; ".join(skipped))
    return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=json.dumps(lags))


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[live_capture_job],
                      default_status=dg.DefaultSensorStatus.RUNNING)
def live_offsets_commit(context: dg.RunStatusSensorContext, kafka: KafkaResource):
    """Commit the offsets a successful capture run persisted (never backwards).

    Dagster only calls this for successful runs; the status is checked again so that no other path can commit what a
    failed run read.
    """
    run = context.dagster_run
    if run.status != dg.DagsterRunStatus.SUCCESS:
        return dg.SkipReason(f"run {run.run_id} ended {run.status.value}: its offsets are not committed")
    records = context.instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT).records
    committed = {}
    for record in records:
        group, name, offsets = persisted_offsets(record.event_log_entry.dagster_event.step_output_data.metadata)
        done = commit_forward(kafka.client_config(), group, {TopicPartition(name, p): o for p, o in offsets.items()}, _budget_s())
        committed[name] = {tp.partition: o for tp, o in done.items()}
    context.log.info(f"run {run.run_id}: committed {committed or 'nothing new'}")


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def live_instruments(context: dg.SensorEvaluationContext, kafka: KafkaResource):
    """Add an instrument to the `instruments` partitions as soon as the live loaders publish it, so the cells the
    capture runs materialise appear in the partitions of the live assets.

    Reads the `streamforge.instruments` headers of what arrived in the live datasets' topics since the cursor
    ({topic: {kafka partition: next offset}}) for at most the sensor budget; the first tick looks back
    STREAMFORGE_LIVE_INSTRUMENTS_LOOKBACK messages per partition.
    """
    cursor = json.loads(context.cursor or "{}")
    seen, moved = set(), {}
    for live in LIVE_STORED:
        name = topic(live.name, build_topics()).name
        positions = {int(p): o for p, o in cursor.get(name, {}).items()}
        found, positions = recent_instruments(
            kafka.client_config(), name, positions, int(settings.get("STREAMFORGE_LIVE_INSTRUMENTS_LOOKBACK")), _budget_s()
        )
        seen |= found
        moved[name] = {str(p): o for p, o in sorted(positions.items())}
    known = set(context.instance.get_dynamic_partitions(INSTRUMENTS.name))
    new = sorted(i for i in seen - known if _is_instrument(context, i))
    return dg.SensorResult(
        dynamic_partitions_requests=[INSTRUMENTS.build_add_request(new)] if new else [],
        cursor=json.dumps(moved),
    )


def _is_instrument(context: dg.SensorEvaluationContext, name: str) -> bool:
    try:
        parse_instrument(name)
        return True
    except ConfigError as exc:
        context.log.warning(f"live topic names {name!r}, which is not an instrument; not added: {exc}")
        return False
