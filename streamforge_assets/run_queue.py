"""The run queue: Dagster's queued run coordinator, with fair turns between instruments.

Backfill runs cover a slice of dates for one or more instruments. A long backfill of one instrument submitted before a
short one of another would, first-in first-out, hold every slot until it ends. So each run that covers a single
instrument is tagged `streamforge/instrument` and given a `dagster/priority` that falls with the number of that
instrument's runs already waiting: a newly queued instrument's first run goes ahead of another one's tenth, and runs
of different instruments take turns — without capping how many slots an instrument may use when it is alone in the
queue.
"""

from __future__ import annotations

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter

from streamforge.catalog import INSTRUMENT_DIMENSION, parse_cell

INSTRUMENT_TAG = "streamforge/instrument"
PRIORITY_TAG = "dagster/priority"


def instrument_of(tags: dict[str, str]) -> str | None:
    """The one instrument a run covers, from Dagster's partition tags; None when it covers several or none."""
    if f"dagster/partition/{INSTRUMENT_DIMENSION}" in tags:
        return tags[f"dagster/partition/{INSTRUMENT_DIMENSION}"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if not start or not end:
        return None
    first, last = parse_cell(start).instrument, parse_cell(end).instrument
    return first if first == last else None


class InstrumentQueuedRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        instrument = instrument_of(run.tags)
        if instrument and PRIORITY_TAG not in run.tags:
            waiting = self._instance.get_runs_count(
                RunsFilter(tags={INSTRUMENT_TAG: instrument}, statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED])
            )
            tags = {INSTRUMENT_TAG: instrument, PRIORITY_TAG: str(-waiting)}
            self._instance.add_run_tags(run.run_id, tags)
            context = SubmitRunContext(run.with_tags({**run.tags, **tags}), context.workspace)
        return super().submit_run(context)
