"""Launch the runs a `sized_backfill` run planned (streamforge_assets/backfills.py), wave after wave.

A wave is launched once the plan is recorded, the next once every run of the one before has succeeded; a wave with
a run that failed or was canceled ends the backfill there, as `streamforge backfill` does (the datasets of the
second wave read what the first stored). Run keys name the backfill, the wave and the run, so a tick evaluated
again (its cursor is saved only when it succeeds) launches nothing twice. Cursor: {plan run id: waves launched, or
DONE}, for the recent plans only.
"""

import json

import dagster as dg

from streamforge.catalog import historical_assets
from streamforge.errors import ConfigError
from streamforge_assets.backfills import ENDED, TAG, WAVE_TAG, backfill_id_of, recorded_plan, sized_backfill_job

RECENT = 50  # plans looked at: the latest successful runs of sized_backfill
DONE = -1


@dg.sensor(target=dg.AssetSelection.assets(*historical_assets()), default_status=dg.DefaultSensorStatus.RUNNING,
           minimum_interval_seconds=10)
def sized_backfill_runs(context: dg.SensorEvaluationContext):
    """Request the next wave of every recent plan whose previous wave has succeeded."""
    launched = json.loads(context.cursor or "{}")
    plans = context.instance.get_runs(dg.RunsFilter(job_name=sized_backfill_job.name,
                                                    statuses=[dg.DagsterRunStatus.SUCCESS]), limit=RECENT)
    requests, cursor, notes = [], {}, []
    for plan_run in plans:
        done = cursor[plan_run.run_id] = launched.get(plan_run.run_id, 0)
        if done == DONE:
            continue
        backfill_id = backfill_id_of(plan_run.run_id)
        try:
            planned = recorded_plan(context.instance, plan_run.run_id)
        except ConfigError as exc:
            context.log.error(str(exc))
            cursor[plan_run.run_id] = DONE
            continue
        if done:
            runs = context.instance.get_runs(dg.RunsFilter(tags={TAG: backfill_id, WAVE_TAG: str(done)}))
            if len(runs) < len(planned[done - 1]) or any(r.status not in ENDED for r in runs):
                notes.append(f"backfill {backfill_id}: wave {done} still running")
                continue
            failed = [r.run_id[:8] for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
            if failed:
                context.log.error(f"backfill {backfill_id}: wave {done} ended with failed or canceled runs "
                                  f"{', '.join(failed)}; the rest of the plan is not launched")
                cursor[plan_run.run_id] = DONE
                continue
        if done == len(planned):
            context.log.info(f"backfill {backfill_id}: every wave succeeded")
            cursor[plan_run.run_id] = DONE
            continue
        wave = done + 1
        requests += [
            dg.RunRequest(run_key=f"{backfill_id}/{wave}/{n}", asset_selection=[dg.AssetKey.from_user_string(a) for a in launch.assets],
                          tags=launch.tags(backfill_id, wave))
            for n, launch in enumerate(planned[wave - 1])
        ]
        cursor[plan_run.run_id] = wave
    if not requests and notes:
        return dg.SkipReason("; ".join(notes))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor))
