"""`streamforge backfill` as runs sized by data volume, launched through the webserver and followed to their end.

The runs are planned as the UI's `sized_backfill` job plans them (streamforge_assets/backfills.py: boxes of days ×
instruments, sized by the trades their venue says they hold); the command launches each itself as a run of the
assets over its partition range — the call the UI makes to materialise a range — tagged `streamforge/backfill=<id>`,
without waiting for a sensor's tick. The runs wait in Dagster's run queue like a backfill's, the UI lists them under
that tag, and the command follows them until the last one ends. The datasets that read a perpetual's spot
instrument from the store (the basis) go in a second wave, after the first has stored the spot cells.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from urllib.parse import quote

import dagster as dg
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streamforge.errors import StreamForgeError
from streamforge_app.webserver import AssetProgress, BackfillStatus, DagsterWebserver
from streamforge_assets.backfills import ENDED, TAG, Launch


def run(web: DagsterWebserver, inst: dg.DagsterInstance, planned: list[list[Launch]], console: Console,
        timeout_s: float = 24 * 3600) -> BackfillStatus:
    """Launch the waves one after another, following each to its end; a wave with a failed run stops the rest."""
    backfill_id = secrets.token_hex(4)
    runs_url = f"{web.url}/runs?q[]={quote(f'tag:{TAG}={backfill_id}')}"
    progress: list[AssetProgress] = []
    status = "COMPLETED_SUCCESS"
    for number, wave in enumerate(planned, start=1):
        sizes = sorted(launch.cells for launch in wave)
        ids = web.launch_runs(IMPLICIT_ASSET_JOB_NAME, [(launch.assets, launch.tags(backfill_id, number)) for launch in wave])
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
    total = sum(launch.cells for launch in launched.values())
    deadline = time.monotonic() + timeout_s
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"backfill {backfill_id}", total=total)
        while True:
            statuses = {r.dagster_run.run_id: r.dagster_run.status
                        for r in inst.get_run_records(dg.RunsFilter(run_ids=list(launched)))}
            ended = {run_id: s for run_id, s in statuses.items() if s in ENDED}
            counts = Counter(s.value for s in statuses.values())
            bar.update(task, completed=sum(launched[r].cells for r in ended),
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
        cells = launch.cells
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
