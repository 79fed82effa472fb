"""Every morning, bring yesterday's cells of every registered instrument into the store.

Venues publish a day's dump files the day after; the schedule runs at 01:30 UTC, when they are normally there. It
launches one `sized_backfill` run for yesterday, so the day's cells go in runs sized by their volume (the sensor
`sized_backfill_runs` launches them) rather than one run per instrument. The run key is the day, so a tick that is
retried never plans the same day twice.
"""

from datetime import timedelta

import dagster as dg

from streamforge_assets.backfills import plan_request, sized_backfill_job
from streamforge_assets.partitions import INSTRUMENTS


@dg.schedule(job=sized_backfill_job, cron_schedule="30 1 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def yesterday_schedule(context: dg.ScheduleEvaluationContext):
    yesterday = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
    if not context.instance.get_dynamic_partitions(INSTRUMENTS.name):
        return dg.SkipReason("no instruments registered: `streamforge instruments add binance.spot.BTCUSDT`")
    return dg.RunRequest(run_key=yesterday, run_config=plan_request(start=yesterday, end=yesterday))
