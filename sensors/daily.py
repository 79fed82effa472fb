"""Every morning, bring yesterday's partitions of every registered symbol into the store.

Binance publishes a day's dump files the day after; the schedule runs at 01:30 UTC, when they are normally there.
Run keys are the partition keys, so a tick that is retried never launches the same day twice.
"""

from datetime import datetime, timedelta

import dagster as dg

from streamforge_assets.jobs import historical_job
from streamforge_assets.partitions import SYMBOLS, join_key


@dg.schedule(job=historical_job, cron_schedule="30 1 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def yesterday_schedule(context: dg.ScheduleEvaluationContext):
    yesterday = (context.scheduled_execution_time or datetime.utcnow()).date() - timedelta(days=1)
    symbols = context.instance.get_dynamic_partitions(SYMBOLS.name)
    if not symbols:
        return dg.SkipReason("no symbols registered: `streamforge symbols add BTCUSDT`")
    return [dg.RunRequest(run_key=key, partition_key=key) for key in (join_key(s, yesterday) for s in sorted(symbols))]
