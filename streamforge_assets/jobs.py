"""Jobs: named selections of the asset graph that schedules, sensors and people launch."""

import dagster as dg

from streamforge_assets.partitions import CELLS, LIVE_CELLS

historical_job = dg.define_asset_job(
    "historical",
    selection=dg.AssetSelection.groups("historical", "store"),
    partitions_def=CELLS,
    description="Trades → candles → store for (date, instrument) cells.",
)

live_job = dg.define_asset_job(
    "live",
    selection=dg.AssetSelection.groups("live"),
    partitions_def=LIVE_CELLS,
    description="Today's live-fed partitions brought up to date from the live topics (launched by sensors/live.py).",
)
