"""`streamforge backfill` as runs sized by data volume, launched through the webserver and followed to their end.

Dagster's asset backfill (what the UI's "Materialize → backfill" launches) cuts its cells into runs by the assets'
static `BackfillPolicy`: lines of one day × consecutive instruments or one instrument × consecutive days, chunked
every STREAMFORGE_PARTITIONS_PER_RUN cells whatever their volume, and a backfill cannot be handed runs of other
shapes. So the command plans its runs itself (`streamforge.run_sizes`: boxes of days × instruments, sized by the
trades their venue says they hold) and launches each as a run of the assets over its partition range — the call
the UI makes to materialise a range — tagged `streamforge/backfill=<id>`. The runs wait in Dagster's run
queue like a backfill's, the UI lists them under that tag, and the command follows them until the last one ends.
The datasets that read a perpetual's spot instrument from the store (the basis) go in a second wave, after the first
has stored the spot cells.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import dagster as dg
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streamforge.catalog import dataset_of_asset
from streamforge.errors import StreamForgeError
from streamforge.run_sizes import Run, limits, plan_runs, trades_per_day
from streamforge.store import open_store
from streamforge_app.webserver import AssetProgress, BackfillStatus, DagsterWebserver
from streamforge_assets.partitions import INSTRUMENTS

TAG = "streamforge/backfill"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class Launch:
    """One run to launch: its cells and the assets it materialises for them."""

    run: Run
    assets: tuple[str, ...]

    def tags(self, backfill_id: str) -> dict[str, str]:
        start, end = self.run.partition_range
        return {TAG: backfill_id, RANGE_START: start, RANGE_END: end}


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
                wave.append(Launch(run, tuple(chosen)))
    return [wave for wave in (first, joined) if wave]


def plan(inst: dg.DagsterInstance, instruments: list[str], days: list[date], assets: list[str]) -> list[list[Launch]]:
    """The waves of runs of a backfill, sized by the trades each instrument's venue (or the store) says a day holds."""
    trades, cells = limits()
    order = inst.get_dynamic_partitions(INSTRUMENTS.name)
    runs = plan_runs(days, instruments, order, trades_per_day(instruments, open_store()), trades, cells)
    return waves(runs, assets)


def run(web: DagsterWebserver, inst: dg.DagsterInstance, planned: list[list[Launch]], console: Console,
        timeout_s: float = 24 * 3600) -> BackfillStatus:
    """Launch the waves one after another, following each to its end; a wave with a failed run stops the rest."""
    backfill_id = secrets.token_hex(4)
    runs_url = f"{web.url}/runs?q[]={quote(f'tag:{TAG}={backfill_id}')}"
    progress: list[AssetProgress] = []
    status = "COMPLETED_SUCCESS"
    for number, wave in enumerate(planned, start=1):
        sizes = sorted(len(launch.run.cells) for launch in wave)
        ids = web.launch_runs(IMPLICIT_ASSET_JOB_NAME, [(launch.assets, launch.tags(backfill_id)) for launch in wave])
        console.print(f"launched backfill [bold]{backfill_id}[/] wave {number}/{len(planned)}: {len(wave)} runs of "
                      f"{sizes[0]}–{sizes[-1]} cells ({sum(sizes)} cells): {runs_url}")
        launched = dict(zip(ids, wave))
        ended = follow(inst, backfill_id, launched, console, timeout_s)
        progress += summary(inst, launched, ended)
        if any(s != dg.DagsterRunStatus.SUCCESS for s in ended.values()):
            status = "COMPLETED_FAILED"
            break
    return BackfillStatus(backfill_id, status, merged(progress), None, runs_tag=TAG)


def follow(inst: dg.DagsterInstance, backfill_id: str, launched: dict[str, Launch], console: Console,
           timeout_s: float) -> dict[str, dg.DagsterRunStatus]:
    """Poll the runs until every one has ended, drawing a progress bar of cells in ended runs over all cells."""
    total = sum(len(launch.run.cells) for launch in launched.values())
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"backfill {backfill_id}", total=total)
        while True:
            statuses = {r.dagster_run.run_id: r.dagster_run.status
                        for r in inst.get_run_records(dg.RunsFilter(run_ids=list(launched)))}
            ended = {run_id: s for run_id, s in statuses.items() if s in FINISHED}
            counts = Counter(s.value for s in statuses.values())
            bar.update(task, completed=sum(len(launched[r].run.cells) for r in ended),
                       description=f"backfill {backfill_id} " + " ".join(f"{n} {s}" for s, n in sorted(counts.items())))
            if len(ended) == len(launched):
                return ended
            if time.monotonic() > deadline:
                raise StreamForgeError(f"backfill {backfill_id}: {len(launched) - len(ended)} runs still going after {timeout_s:.0f} s")
            time.sleep(1.0)


def summary(inst: dg.DagsterInstance, launched: dict[str, Launch], ended: dict[str, dg.DagsterRunStatus]) -> list[AssetProgress]:
    """Cells targeted, materialised and failed per asset: a run that succeeded materialised all of its cells, one
    that did not, those its materialisation events name."""
    rows = []
    for run_id, launch in launched.items():
        cells = len(launch.run.cells)
        succeeded = ended[run_id] == dg.DagsterRunStatus.SUCCESS
        done = Counter(dict.fromkeys(launch.assets, cells)) if succeeded else materialised(inst, run_id)
        rows += [AssetProgress(asset, cells, 0, done[asset], cells - done[asset]) for asset in launch.assets]
    return rows


def materialised(inst: dg.DagsterInstance, run_id: str) -> Counter[str]:
    """Cells materialised per asset by one run."""
    records = inst.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return Counter(r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records)


def merged(rows: list[AssetProgress]) -> list[AssetProgress]:
    """One row per asset, in the order the assets first appear."""
    by_asset: dict[str, AssetProgress] = {}
    for row in rows:
        seen = by_asset.get(row.asset)
        by_asset[row.asset] = row if seen is None else AssetProgress(
            row.asset, seen.targeted + row.targeted, 0, seen.materialized + row.materialized, seen.failed + row.failed)
    return list(by_asset.values())
