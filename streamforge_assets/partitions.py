"""Partitions: every historical asset is one (date, symbol) cell.

Dates are daily partitions from STREAMFORGE_START_DATE up to the last completed UTC day; symbols are a dynamic
partition managed by `streamforge symbols add/remove` (validated against the exchange first). A run may cover
several cells (`BackfillPolicy.multi_run`), so per-run start-up cost is paid once for many days.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from streamforge import settings

SYMBOLS = dg.DynamicPartitionsDefinition(name="symbols")
DAYS = dg.DailyPartitionsDefinition(start_date=settings.get("STREAMFORGE_START_DATE"), timezone="UTC")
SYMBOL_DAYS = dg.MultiPartitionsDefinition({"date": DAYS, "symbol": SYMBOLS})
# The live assets also hold today, which is still filling: the same cells plus the current UTC day.
LIVE_DAYS = dg.DailyPartitionsDefinition(start_date=settings.get("STREAMFORGE_START_DATE"), timezone="UTC", end_offset=1)
LIVE_SYMBOL_DAYS = dg.MultiPartitionsDefinition({"date": LIVE_DAYS, "symbol": SYMBOLS})

# Several days per run (7 by default): the days' work dominates, not the run's start-up of several seconds.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=int(settings.get("STREAMFORGE_PARTITIONS_PER_RUN")))


def split_key(partition_key: str) -> tuple[str, date]:
    """'2025-01-02|BTCUSDT' -> ('BTCUSDT', date(2025, 1, 2))."""
    dims = SYMBOL_DAYS.get_partition_key_from_str(partition_key).keys_by_dimension
    return dims["symbol"], date.fromisoformat(dims["date"])


def join_key(symbol: str, day: date) -> str:
    return str(dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol}))
