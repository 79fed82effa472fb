"""The run queue: Dagster's queued run coordinator, with fair turns between symbols.

Backfill runs cover a slice of dates for one or more symbols. A long backfill of one symbol submitted before a short
one of another would, first-in first-out, hold every slot until it ends. So each run that covers a single symbol is
tagged `streamforge/symbol` and given a `dagster/priority` that falls with the number of that symbol's runs already
waiting: a newly queued symbol's first run goes ahead of another symbol's tenth, and runs of different symbols take
turns — without capping how many slots a symbol may use when it is alone in the queue.
"""

from __future__ import annotations

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter

SYMBOL_TAG = "streamforge/symbol"
PRIORITY_TAG = "dagster/priority"


def symbol_of(tags: dict[str, str]) -> str | None:
    """The one symbol a run covers, from Dagster's partition tags; None when it covers several or none."""
    if "dagster/partition/symbol" in tags:
        return tags["dagster/partition/symbol"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if not start or not end:
        return None
    first, last = start.split("|")[-1], end.split("|")[-1]
    return first if first == last else None


class SymbolQueuedRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        symbol = symbol_of(run.tags)
        if symbol and PRIORITY_TAG not in run.tags:
            waiting = self._instance.get_runs_count(
                RunsFilter(tags={SYMBOL_TAG: symbol}, statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED])
            )
            tags = {SYMBOL_TAG: symbol, PRIORITY_TAG: str(-waiting)}
            self._instance.add_run_tags(run.run_id, tags)
            context = SubmitRunContext(run.with_tags({**run.tags, **tags}), context.workspace)
        return super().submit_run(context)
