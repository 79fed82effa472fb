"""Every morning, bring yesterday's cells of every registered instrument into the store.

Venues publish a day's dump files the day after; the schedule runs at 01:30 UTC, when they are normally there.
Run keys are the partition keys, so a tick that is retried never launches the same day twice.
"""

from datetime import datetime, timedelta

import dagster as dg

from streamforge.catalog import cell_key
from streamforge_assets.jobs import historical_job
from streamforge_assets.partitions import INSTRUMENTS


@dg.schedule(job=historical_job, cron_schedule="30 1 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def yesterday_schedule(context: dg.ScheduleEvaluationContext):
    yesterday = (context.scheduled_execution_time or datetime.utcnow()).date() - timedelta(days=1)
    instruments = context.instance.get_dynamic_partitions(INSTRUMENTS.name)
    if not instruments:
        return dg.SkipReason("no instruments registered: `streamforge instruments add binance.spot.BTCUSDT`")
    return [dg.RunRequest(run_key=key, partition_key=key) for key in (cell_key(i, yesterday) for i in sorted(instruments))]
