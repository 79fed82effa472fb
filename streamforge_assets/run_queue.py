"""The run queue: Dagster's queued run coordinator plus a per-symbol tag.

A backfill run covering several days of one symbol carries only range tags
(`dagster/asset_partition_range_start = 2025-01-01|BTCUSDT`), and a single-partition run only
`dagster/partition/symbol`. The instance's `tag_concurrency_limits` need one tag naming the symbol to keep one
symbol's runs from holding every slot, so this coordinator adds `streamforge/symbol` before queueing.
"""

from __future__ import annotations

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun

SYMBOL_TAG = "streamforge/symbol"


def symbol_of(tags: dict[str, str]) -> str | None:
    """The one symbol a run covers, from Dagster's partition tags; 'several' when its range spans symbols."""
    if "dagster/partition/symbol" in tags:
        return tags["dagster/partition/symbol"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if not start or not end:
        return None
    first, last = start.split("|")[-1], end.split("|")[-1]
    return first if first == last else "several"


class SymbolQueuedRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        symbol = symbol_of(context.dagster_run.tags)
        if symbol and SYMBOL_TAG not in context.dagster_run.tags:
            self._instance.add_run_tags(context.dagster_run.run_id, {SYMBOL_TAG: symbol})
            context = SubmitRunContext(
                context.dagster_run.with_tags({**context.dagster_run.tags, SYMBOL_TAG: symbol}),
                context.workspace,
            )
        return super().submit_run(context)
