"""Jobs: named selections of the asset graph that schedules, sensors and people launch."""

import dagster as dg

from streamforge_assets.partitions import CELLS

historical_job = dg.define_asset_job(
    "historical",
    selection=dg.AssetSelection.groups("historical", "store"),
    partitions_def=CELLS,
    description="Trades → candles → store for (date, instrument) cells.",
)
