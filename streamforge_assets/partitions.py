"""Partitions: every historical asset is one cell — a UTC day of one instrument (`streamforge.catalog`).

Dates are daily partitions from STREAMFORGE_START_DATE up to the last completed UTC day; instruments are a dynamic
partition managed by `streamforge instruments add/remove` (validated against the venue first). A run may cover
several cells (`BackfillPolicy.multi_run`), so per-run start-up cost is paid once for many days.
"""

from __future__ import annotations

import dagster as dg

from streamforge import settings
from streamforge.catalog import DATE_DIMENSION, INSTRUMENT_DIMENSION

INSTRUMENTS = dg.DynamicPartitionsDefinition(name="instruments")
DAYS = dg.DailyPartitionsDefinition(start_date=settings.get("STREAMFORGE_START_DATE"), timezone="UTC")
CELLS = dg.MultiPartitionsDefinition({DATE_DIMENSION: DAYS, INSTRUMENT_DIMENSION: INSTRUMENTS})
# The live assets also hold today, which is still filling: the same cells plus the current UTC day.
LIVE_DAYS = dg.DailyPartitionsDefinition(start_date=settings.get("STREAMFORGE_START_DATE"), timezone="UTC", end_offset=1)
LIVE_CELLS = dg.MultiPartitionsDefinition({DATE_DIMENSION: LIVE_DAYS, INSTRUMENT_DIMENSION: INSTRUMENTS})

# Many cells per run (50 by default, B8): a run holds one cell's frames at a time (resources/io_managers.Cells), so
# the size of a run bounds how often Dagster's start-up of several seconds is paid, not its memory.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=int(settings.get("STREAMFORGE_PARTITIONS_PER_RUN")))
