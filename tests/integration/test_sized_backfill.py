"""A backfill launched from the UI (or the morning schedule) with runs sized by volume: the `sized_backfill` job plans
the runs from the venue's trade counts (the simulator's REST) and records the plan; the `sized_backfill_runs` sensor
launches them wave after wave. The instance is a real one; the runs a wave launches are stood in for by run records carrying their tags, so
that the sensor can be shown each way a wave ends (the end-to-end test runs them for real)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import dagster as dg
import pytest

from sensors.backfills import DONE, sized_backfill_runs
from sensors.daily import yesterday_schedule
from streamforge.catalog import cell_key, historical_assets, parse_cell
from streamforge_assets.backfills import RANGE_END, RANGE_START, TAG, WAVE_TAG, backfill_id_of, plan_request, recorded_plan
from streamforge_assets.definitions import defs
from streamforge_assets.partitions import INSTRUMENTS

SPOT = ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT"]  # registered by the `instance` fixture
PERP = "binance.usdm.BTCUSDT"
DAYS = [date(2025, 1, 1), date(2025, 1, 2)]
MORNING = datetime(2025, 1, 3, 1, 30, tzinfo=timezone.utc)  # the schedule's tick of 2025-01-03


@pytest.fixture
def venues_at_the_simulator(sim, monkeypatch):
    for setting in ("STREAMFORGE_REST_URL", "STREAMFORGE_USDM_REST_URL"):
        monkeypatch.setenv(setting, sim)


def launch_plan(instance, **config) -> dg.ExecuteInProcessResult:
    """What the Launchpad does: a run of `sized_backfill` with the request as its op's config."""
    return defs.resolve_job_def("sized_backfill").execute_in_process(run_config=plan_request(**config), instance=instance,
                                                                     raise_on_error=False)


def tick(instance, cursor: str | None = None):
    return sized_backfill_runs(dg.build_sensor_context(instance=instance, cursor=cursor))


def stand_in(instance, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A run record as the daemon would make it from the request, in the given state."""
    return instance.create_run_for_job(defs.resolve_job_def("historical"), tags=request.tags, status=status)


def box(tags: dict[str, str], order: list[str]) -> set[str]:
    first, last = parse_cell(tags[RANGE_START]), parse_cell(tags[RANGE_END])
    instruments = order[order.index(first.instrument):order.index(last.instrument) + 1]
    return {cell_key(i, d) for i in instruments for d in DAYS if first.day <= d <= last.day}


def test_the_plan_is_launched_wave_after_wave_each_run_a_box_of_cells(instance, venues_at_the_simulator, monkeypatch):
    instance.add_dynamic_partitions(INSTRUMENTS.name, [PERP])
    monkeypatch.setenv("STREAMFORGE_PARTITIONS_PER_RUN", "2")  # several runs even at the test's small volume
    result = launch_plan(instance, start="2025-01-01", end="2025-01-02")  # no instruments: every registered one
    assert result.success
    planned = recorded_plan(instance, result.run_id)
    backfill_id = backfill_id_of(result.run_id)
    assert len(planned) == 2 and {launch.assets for launch in planned[1]} == {("basis_5m", "arangodb/basis_5m")}

    first = tick(instance)
    order = instance.get_dynamic_partitions(INSTRUMENTS.name)
    assert len(first.run_requests) == len(planned[0]) >= 4
    covered = [box(r.tags, order) for r in first.run_requests]
    assert all(len(cells) <= 2 for cells in covered)
    assert sorted(c for cells in covered for c in cells) == sorted(cell_key(i, d) for i in [*SPOT, PERP] for d in DAYS)
    spot_run = next(r for r in first.run_requests if "spot" in r.tags[RANGE_START])
    assert {k.to_user_string() for k in spot_run.asset_selection} == set(historical_assets("binance.spot"))
    assert all(r.tags[TAG] == backfill_id and r.tags[WAVE_TAG] == "1" for r in first.run_requests)
    assert len({r.run_key for r in first.run_requests}) == len(first.run_requests)

    # Wave 1 not all launched yet, then one run still going: nothing more is asked for.
    *done, last = first.run_requests
    for request in done:
        stand_in(instance, request, dg.DagsterRunStatus.SUCCESS)
    assert isinstance(tick(instance, first.cursor), dg.SkipReason)
    going = stand_in(instance, last, dg.DagsterRunStatus.STARTED)
    assert "wave 1 still running" in tick(instance, first.cursor).skip_message

    instance.delete_run(going.run_id)
    stand_in(instance, last, dg.DagsterRunStatus.SUCCESS)
    second = tick(instance, first.cursor)
    assert [r.tags[WAVE_TAG] for r in second.run_requests] == ["2"] * len(planned[1])
    assert all(PERP in r.tags[RANGE_START] for r in second.run_requests)

    for request in second.run_requests:
        stand_in(instance, request, dg.DagsterRunStatus.SUCCESS)
    finished = tick(instance, second.cursor)
    assert not finished.run_requests and json.loads(finished.cursor) == {result.run_id: DONE}


def test_a_wave_with_a_failed_run_ends_the_backfill_there(instance, venues_at_the_simulator):
    instance.add_dynamic_partitions(INSTRUMENTS.name, [PERP])
    result = launch_plan(instance, start="2025-01-01", end="2025-01-01", instruments=["SOLUSDT", PERP])
    first = tick(instance)
    assert {r.tags[RANGE_START].split("|")[1] for r in first.run_requests} == {"binance.spot.SOLUSDT", PERP}
    failed, *rest = first.run_requests
    stand_in(instance, failed, dg.DagsterRunStatus.FAILURE)
    for request in rest:
        stand_in(instance, request, dg.DagsterRunStatus.SUCCESS)
    after = tick(instance, first.cursor)
    assert not after.run_requests and json.loads(after.cursor) == {result.run_id: DONE}


@pytest.mark.parametrize(("config", "named"), [
    ({"start": "2025-01-01", "end": "2025-01-01", "instruments": ["binance.spot.DOGEUSDT"]},
     "binance.spot.DOGEUSDT not registered; add them first with `streamforge instruments add binance.spot.DOGEUSDT`"),
    ({"start": "2025-01-01", "end": "2025-01-01", "instruments": ["binance.moon.BTCUSDT"]}, "binance.moon"),
    ({"start": "2025-13-01", "end": "2025-01-01"}, "start date '2025-13-01' is not a date in YYYY-MM-DD form"),
    ({"start": "2025-01-02", "end": "2025-01-01"}, "end date 2025-01-01 is before start date 2025-01-02"),
    ({"start": "2025-01-01", "end": "2025-01-01", "assets": ["candles_7m"]}, "unknown asset(s) candles_7m"),
])
def test_a_bad_request_fails_its_plan_run_naming_what_was_wrong_and_nothing_is_launched(instance, config, named):
    result = launch_plan(instance, **config)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("sized backfill refused, nothing launched: ") and named in message, message
    assert "\n" not in message
    assert not tick(instance).run_requests


def test_the_morning_schedule_plans_yesterday_of_every_registered_instrument_as_one_sized_backfill(instance, venues_at_the_simulator):
    request = yesterday_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=MORNING))
    assert request.run_key == "2025-01-02"
    result = defs.resolve_job_def("sized_backfill").execute_in_process(run_config=request.run_config, instance=instance)
    [wave] = recorded_plan(instance, result.run_id)
    assert sum(launch.cells for launch in wave) == len(SPOT)
    assert {launch.start.split("|")[0] for launch in wave} == {"2025-01-02"}


def test_the_morning_schedule_skips_saying_why_when_no_instrument_is_registered():
    with dg.instance_for_test() as empty:
        skipped = yesterday_schedule(dg.build_schedule_context(instance=empty, scheduled_execution_time=MORNING))
    assert "no instruments registered" in skipped.skip_message
