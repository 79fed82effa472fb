"""The Definitions Dagster loads (workspace.yaml): assets, checks, jobs, schedules, sensors and resources.

Resources are built from the environment here, once; the assets never branch on where they run.
"""

import dagster as dg

from resources import resource_defs
from sensors.backfills import sized_backfill_runs
from sensors.daily import yesterday_schedule
from sensors.live import live_activity, live_offsets_commit, live_instruments
from streamforge_assets.backfills import sized_backfill_job
from streamforge_assets.candles import candles
from streamforge_assets.cross_venue import cross_venue
from streamforge_assets.graph import graph
from streamforge_assets.jobs import historical_job
from streamforge_assets.leaderboard import leaderboard
from streamforge_assets.live import live_assets, live_capture_job
from streamforge_assets.models import model
from streamforge_assets.perpetuals import basis_5m, funding, open_interest_5m, price_klines
from streamforge_assets.store import STORE_ASSETS
from streamforge_assets.trades import trades


defs = dg.Definitions(
    assets=[trades, candles, price_klines, funding, open_interest_5m, basis_5m, *STORE_ASSETS, cross_venue, graph, model,
            leaderboard, *live_assets],
    jobs=[historical_job, live_capture_job, sized_backfill_job],
    schedules=[yesterday_schedule],
    sensors=[live_activity, live_offsets_commit, live_instruments, sized_backfill_runs],
    resources=resource_defs(),
    # Two cores: steps of a run execute one after another in the run's process; runs are the unit of parallelism.
    executor=dg.in_process_executor,
)
