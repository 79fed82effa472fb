"""Backfills whose runs follow data volume, from the command line and from the UI.

Dagster's own backfill (the UI's "Materialize → backfill") cuts its cells into runs by the assets' static
`BackfillPolicy`, a number of cells whatever they hold, and cannot be handed runs of other shapes. Runs sized by
volume are planned here (`streamforge.run_sizes`: boxes of days × instruments holding up to
STREAMFORGE_TRADES_PER_RUN estimated trades) and launched as runs of the assets over each box's partition range,
tagged `streamforge/backfill=<id>`. `streamforge backfill` launches them through the webserver itself
(streamforge_app/backfill_runs.py). From the UI, a person launches the `sized_backfill` job from its Launchpad: its
one step plans the runs and records the plan in its output's metadata, which the run's page shows, and the
`sized_backfill_runs` sensor (sensors/backfills.py) launches them, wave after wave. Planning is a run of its own,
not part of a sensor tick, because it asks every market's venue for its trade counts, which may take longer than a
tick is allowed.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import dagster as dg
from pydantic import Field

from streamforge.catalog import dataset_of_asset, historical_assets
from streamforge.errors import ConfigError
from streamforge.run_sizes import Run, limits, plan_runs, request, trades_per_day
from streamforge.store import open_store
from streamforge_assets.partitions import INSTRUMENTS

TAG, WAVE_TAG = "streamforge/backfill", "streamforge/backfill-wave"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
ENDED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
PLAN = "streamforge/plan"  # the plan step's output metadata: the waves of runs, as Launch dicts


@dataclass(frozen=True)
class Launch:
    """One run to launch: the partition range of its box of cells, how many cells and estimated trades it holds,
    and the assets it materialises for them."""

    start: str
    end: str
    cells: int
    trades: int
    assets: tuple[str, ...]

    @classmethod
    def of(cls, run: Run, assets: Sequence[str]) -> "Launch":
        start, end = run.partition_range
        return cls(start, end, len(run.cells), run.trades, tuple(assets))

    def tags(self, backfill_id: str, wave: int) -> dict[str, str]:
        return {TAG: backfill_id, WAVE_TAG: str(wave), RANGE_START: self.start, RANGE_END: self.end}


def waves(runs: Sequence[Run], assets: Sequence[str]) -> list[list[Launch]]:
    """Each run with the assets its market has, in the waves they must come in: the datasets that join a
    perpetual's spot instrument after every other."""
    first: list[Launch] = []
    joined: list[Launch] = []
    for run in runs:
        mine = [a for a in assets if (found := dataset_of_asset(a)) is None or found.exists_for(run.market_id)]
        later = [a for a in mine if (found := dataset_of_asset(a)) is not None and found.joins_spot]
        for wave, chosen in ((first, [a for a in mine if a not in later]), (joined, later)):
            if chosen:
                wave.append(Launch.of(run, chosen))
    return [wave for wave in (first, joined) if wave]


def plan(inst: dg.DagsterInstance, instruments: list[str], days: list[date], assets: list[str]) -> list[list[Launch]]:
    """The waves of runs of a backfill, sized by the trades each instrument's venue (or the store) says a day holds."""
    trades, cells = limits()
    order = inst.get_dynamic_partitions(INSTRUMENTS.name)
    runs = plan_runs(days, instruments, order, trades_per_day(instruments, open_store()), trades, cells)
    return waves(runs, assets)


def plan_as_json(planned: list[list[Launch]]) -> list[list[dict]]:
    return [[asdict(launch) for launch in wave] for wave in planned]


def plan_from_json(data: list[list[dict]]) -> list[list[Launch]]:
    return [[Launch(**(launch | {"assets": tuple(launch["assets"])})) for launch in wave] for wave in data]


class SizedBackfill(dg.Config):
    """What the Launchpad asks for."""

    start: str = Field(description="First day, YYYY-MM-DD.")
    end: str = Field(description="Last day, YYYY-MM-DD (inclusive, a completed UTC day).")
    instruments: list[str] = Field(default=[], description="Registered instruments (e.g. binance.spot.BTCUSDT, "
                                   "or BTCUSDT for Binance spot); none: every registered instrument.")
    assets: list[str] = Field(default=[], description="Asset keys, e.g. trades, arangodb/candles_5m; none: the "
                              "whole historical graph.")


@dg.op(tags={"kind": "dagster"})
def plan_sized_backfill(context: dg.OpExecutionContext, config: SizedBackfill):
    """Validate the request and plan its runs; the output's metadata holds the plan the sensor launches."""
    registered = context.instance.get_dynamic_partitions(INSTRUMENTS.name)
    try:
        instruments, days = request(config.instruments or registered, config.start, config.end, registered)
        known = historical_assets()
        assets = config.assets or known
        unknown = [a for a in assets if a not in known]
        if unknown:
            raise ConfigError(f"unknown asset(s) {', '.join(unknown)}; a sized backfill covers {', '.join(known)}")
        planned = plan(context.instance, instruments, days, assets)
    except ConfigError as exc:
        raise dg.Failure(description=f"sized backfill refused, nothing launched: {exc}") from None
    backfill_id = backfill_id_of(context.run_id)
    runs = [launch for wave in planned for launch in wave]
    context.log.info(f"backfill {backfill_id}: {len(runs)} runs in {len(planned)} wave(s) over {len(instruments)} "
                     f"instruments × {len(days)} days; the sensor sized_backfill_runs launches them, tagged {TAG}={backfill_id}")
    table = "\n".join(["| wave | first cell | last cell | cells | est. trades |", "|---|---|---|---|---|"] + [
        f"| {n} | {launch.start} | {launch.end} | {launch.cells} | {launch.trades:,} |"
        for n, wave in enumerate(planned, start=1) for launch in wave])
    yield dg.Output(None, metadata={
        PLAN: dg.MetadataValue.json(plan_as_json(planned)),
        "backfill": backfill_id,
        "runs": len(runs),
        "cells": sum(launch.cells for launch in runs),
        "runs of the plan": dg.MetadataValue.md(table),
    })


@dg.job(name="sized_backfill", description="Backfill instruments × days as runs sized by data volume: this run plans "
        "them, the sensor sized_backfill_runs launches them (tag streamforge/backfill=<first 8 characters of this "
        "run's id>). The UI's Materialize → backfill cuts runs by a fixed number of cells instead.")
def sized_backfill_job():
    plan_sized_backfill()


def plan_request(**request: object) -> dict:
    """The run config of a `sized_backfill` run for a request (SizedBackfill's fields)."""
    return {"ops": {plan_sized_backfill.name: {"config": request}}}


def backfill_id_of(plan_run_id: str) -> str:
    return plan_run_id[:8]


def recorded_plan(inst: dg.DagsterInstance, plan_run_id: str) -> list[list[Launch]]:
    """The plan a successful `sized_backfill` run recorded."""
    for record in inst.get_records_for_run(plan_run_id, of_type=dg.DagsterEventType.STEP_OUTPUT).records:
        metadata = record.event_log_entry.dagster_event.step_output_data.metadata
        if PLAN in metadata:
            return plan_from_json(metadata[PLAN].data)
    raise ConfigError(f"run {plan_run_id} of sized_backfill recorded no plan")
