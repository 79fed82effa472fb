"""B8: historical backfills at universe scale — the simulator's 200-asset universe, 200 instruments registered and
backfilled through the whole historical graph (trades → candles → store) in runs sized by the venue's trade counts,
run from Dagster's run queue by the daemon.

Cases: 200 instruments × 1 day from the CLI's path (`streamforge backfill`: planned in the command, launched through
the webserver's GraphQL) with StreamForge's run sizes (STREAMFORGE_TRADES_PER_RUN's and
STREAMFORGE_PARTITIONS_PER_RUN's defaults) and, as the baseline in the same run, at most 7 cells per run; then 200
instruments × 30 days from the UI's path (the `sized_backfill` job launched as the Launchpad does, its plan's runs
launched by the daemon's sensor) with StreamForge's run sizes. Each case reports the plan (the venue's counts and the runs'
shapes), the launch (until the last run is queued), the total until the last run ends, the runs it took (their
cells, fewest and most) and how many failed, the peak RSS of the webserver and of the daemon (each with
its code server), the largest run worker's peak (found among all processes), and — after the 30 days — the time the
`trades` asset's partitions page takes to load in Chromium. Goals (#8): 200 × 1 day ≤ 5 min; 200 × 30 days with no failed
run; the partitions page ≤ 5 s.

The instruments: the 200 busiest Binance spot instruments the simulator's universe of 250 assets lists as trading over
the whole window (STREAMFORGE_SIM_VOLUME 0.02: BTCUSDT ~32,000 aggTrades a day, the quietest about 40). Spot only:
the simulator computes a perpetual's monthly funding file from a month of one-second prices (minutes for a hundred
perpetuals), which would measure the simulator rather than the platform; B2 measures a perpetual's day.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from tempfile import mkdtemp

import psutil
from rich.console import Console

from bench.headline import Figure
from streamforge import settings

SIZE = 200
UNIVERSE = 250  # STREAMFORGE_SIM_UNIVERSE: 216 Binance spot instruments trade through the window and today
VOLUME = "0.02"
FIRST_DAY = date(2025, 3, 1)
DAYS = 30
BASELINE_PER_RUN = 7
MARKET = "binance.spot"
TIMEOUT_S = 3 * 3600
ASSET = "trades"
HEADLINE = (
    Figure("200 instruments × 1 day backfilled via the daemon, s", "one_day.streamforge.total_s",
           "one_day.baseline_7_per_run.total_s", "7 cells per run", goal=300),
    Figure("200 instruments × 30 days, failed runs", "thirty_days.failed_runs", goal=0),
    Figure("200 × 30 days backfilled, s", "thirty_days.total_s"),
    Figure("trades partitions page in Chromium, s", "partitions_page.loaded_s", goal=5),
)


def universe(size: int, first: date, last: date) -> list[str]:
    """The simulator's instruments trading over the whole window and still today (so the venue validates them),
    busiest first, at most `size`."""
    from streamforge.sim.market import Market

    market = Market(int(settings.get("STREAMFORGE_SIM_SEED")), float(VOLUME), universe=UNIVERSE)
    listed = [
        instrument
        for instrument in market.listed(MARKET, first).values()
        if all(instrument.trading_on(day) for day in (first, last, date.today()))
    ]
    return [i.id for i in sorted(listed, key=lambda i: -i.agg_trades_per_day)][:size]


class PeakRss:
    """Samples the resident memory of process trees twice a second: the webserver and the daemon each with their
    code servers, and the run workers (Dagster's `execute_run` processes) apart, wherever they hang."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.peaks = {name: 0 for name in roots} | {"run_worker_largest": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, pid in self.roots.items():
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                total = 0
                for proc in tree:
                    try:
                        total += 0 if _is_run_worker(proc) else proc.memory_info().rss
                    except psutil.Error:
                        continue
                self.peaks[name] = max(self.peaks[name], total)
            for proc in psutil.process_iter():  # a run worker's parent is whichever process launched it
                try:
                    if _is_run_worker(proc):
                        self.peaks["run_worker_largest"] = max(self.peaks["run_worker_largest"], proc.memory_info().rss)
                except psutil.Error:
                    continue

    def mib(self) -> dict[str, int]:
        return {f"{name}_peak_rss_mib": round(peak / 2**20) for name, peak in self.peaks.items()}


def _is_run_worker(proc: psutil.Process) -> bool:
    """A run's process: `dagster api execute_run`, or what the code server starts through multiprocessing's spawn."""
    command = " ".join(proc.cmdline())
    return "execute_run" in command or "multiprocessing.spawn" in command


def backfill(stack, instruments: list[str], first: date, days: int, ui: bool = False) -> dict:
    """One backfill with runs sized by volume, followed to its end; what it took and how its runs ended. From the
    CLI's path (planned here, launched through the webserver in waves: the basis goes after the spot cells it reads)
    or, with `ui`, as a person launches it from the UI: a `sized_backfill` run from the Launchpad (no instruments
    given: every registered one), whose plan the daemon's sensor launches."""
    import dagster as dg

    from streamforge.catalog import parse_cell
    from streamforge_app import backfill_runs, control
    from streamforge_app.webserver import DagsterWebserver
    from streamforge_assets.backfills import TAG, plan

    end = first + timedelta(days=days - 1)
    inst = control.instance()
    roots = {"webserver": stack.processes["dagster-webserver"].pid, "daemon": stack.processes["dagster-daemon"].pid}
    web = DagsterWebserver(stack.webserver_url, timeout_s=600)
    with PeakRss(roots) as rss:
        started, started_at = time.monotonic(), time.time()
        cells = [parse_cell(k) for k in control.plan_backfill(instruments, first.isoformat(), end.isoformat())]
        if ui:
            backfill_id, planned, plan_s, succeeded = _from_the_launchpad(web, inst, first, end, started)
        else:
            planned = plan(inst, instruments, sorted({c.day for c in cells}), control.HISTORICAL_ASSETS)
            plan_s = time.monotonic() - started
            status = backfill_runs.run(web, inst, planned, Console(quiet=True), timeout_s=TIMEOUT_S)
            backfill_id, succeeded = status.id, status.succeeded
        total = time.monotonic() - started
    records = inst.get_run_records(dg.RunsFilter(tags={TAG: backfill_id}))
    failed = [r for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
    sizes = [launch.cells for wave in planned for launch in wave]
    return {
        "path": "the UI's sized_backfill job and its sensor" if ui else "streamforge backfill",
        "cells": len(cells),
        "succeeded": succeeded,
        "waves": len(planned),
        "plan_s": round(plan_s, 2),  # the venue's trade counts, the store's, and the plan (with `ui`: the plan run)
        "launch_s": round(max(r.create_timestamp.timestamp() for r in records) - started_at, 2),  # until the last run is queued
        "total_s": round(total, 1),
        "runs": len(records),
        "failed_runs": len(failed),
        "cells_per_run_mean": round(len(cells) / len(records), 1) if records else None,
        "cells_per_run_range": [min(sizes), max(sizes)],
        **rss.mib(),
        "load_average_at_end": round(os.getloadavg()[0], 1),
    }


def _from_the_launchpad(web, inst, first: date, end: date, started: float) -> tuple[str, list, float, bool]:
    """Launch `sized_backfill` as the Launchpad does and wait until its plan's runs have all ended (or a wave has
    failed, which ends the backfill): (backfill id, plan, seconds until the plan was recorded, every run succeeded)."""
    import dagster as dg

    from streamforge_assets.backfills import ENDED, TAG, backfill_id_of, plan_request, recorded_plan

    plan_id = web.launch_job("sized_backfill", plan_request(start=first.isoformat(), end=end.isoformat()))
    while (plan_run := inst.get_run_by_id(plan_id)).status not in ENDED:
        time.sleep(1)
    if plan_run.status != dg.DagsterRunStatus.SUCCESS:
        raise RuntimeError(f"the sized_backfill run {plan_id} ended {plan_run.status.value}")
    plan_s = time.monotonic() - started
    planned, backfill_id = recorded_plan(inst, plan_id), backfill_id_of(plan_id)
    expected = sum(len(wave) for wave in planned)
    while time.monotonic() - started < TIMEOUT_S:
        runs = inst.get_runs(dg.RunsFilter(tags={TAG: backfill_id}))
        ended = [r for r in runs if r.status in ENDED]
        failed = any(r.status != dg.DagsterRunStatus.SUCCESS for r in ended)
        if len(ended) == len(runs) and (len(runs) == expected or failed and runs):
            return backfill_id, planned, plan_s, not failed and len(runs) == expected
        time.sleep(2)
    raise RuntimeError(f"backfill {backfill_id}: not ended after {TIMEOUT_S} s")


def partitions_page_s(webserver_url: str, asset: str) -> dict:
    """Seconds from navigation until the asset's partitions page shows its partition counts, in headless Chromium;
    best of three (the first also pays the browser's cold cache)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            for _ in range(3):
                page = browser.new_page()
                started = time.monotonic()
                page.goto(f"{webserver_url}/assets/{asset}?view=partitions", timeout=120_000)
                page.get_by_text("Materialized", exact=False).first.wait_for(timeout=120_000)
                page.wait_for_load_state("networkidle", timeout=120_000)
                times.append(time.monotonic() - started)
                page.close()
        finally:
            browser.close()
    return {"loaded_s": round(min(times), 2), "first_load_s": round(times[0], 2)}


def _case(instruments: list[str], first: date, days: int, per_run: int | None, ui: bool = False) -> tuple[dict, dict | None]:
    from streamforge_app import control
    from streamforge_app.stack import Stack

    home = Path(mkdtemp(prefix="sf-b8-"))
    if per_run is None:
        os.environ.pop("STREAMFORGE_PARTITIONS_PER_RUN", None)
    else:
        os.environ["STREAMFORGE_PARTITIONS_PER_RUN"] = str(per_run)
    try:
        sim = {"STREAMFORGE_SIM_UNIVERSE": str(UNIVERSE), "STREAMFORGE_SIM_VOLUME": VOLUME}
        with Stack(home=home, sim_env=sim) as stack:
            started = time.monotonic()
            control.add_instruments(instruments, validate=True)
            registered = time.monotonic() - started
            result = {"instruments": len(instruments), "register_s": round(registered, 1)}
            result |= backfill(stack, instruments, first, days, ui)
            print(f"B8 {days} day(s), {per_run or 'default'} cells per run: {result}", file=sys.stderr, flush=True)
            page = partitions_page_s(stack.webserver_url, ASSET) if days > 1 else None
        return result, page
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run() -> dict:
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    instruments = universe(SIZE, FIRST_DAY, last)
    per_run = int(settings.get("STREAMFORGE_PARTITIONS_PER_RUN"))
    one_day, _ = _case(instruments, FIRST_DAY, 1, None)
    baseline, _ = _case(instruments, FIRST_DAY, 1, BASELINE_PER_RUN)
    thirty, page = _case(instruments, FIRST_DAY, DAYS, None, ui=True)
    return {
        "goal": "200 instruments × 1 day ≤ 300 s; 200 × 30 days with no failed run; the partitions page ≤ 5 s",
        "instruments": len(instruments),
        "window": f"{FIRST_DAY}..{last}",
        "cells_per_run_setting": per_run,
        "trades_per_run_setting": int(settings.get("STREAMFORGE_TRADES_PER_RUN")),
        "one_day": {"streamforge": one_day, f"baseline_{BASELINE_PER_RUN}_per_run": baseline},
        "thirty_days": thirty,
        "partitions_page": page,
        "goal_met": one_day["succeeded"] and one_day["total_s"] <= 300 and thirty["failed_runs"] == 0
        and thirty["succeeded"] and page["loaded_s"] <= 5,
    }


if __name__ == "__main__":
    import json

    if sys.argv[1:] == ["one-day"]:  # a quick look at the first case alone
        print(json.dumps(_case(universe(SIZE, FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1)), FIRST_DAY, 1, None)[0], indent=1))
    else:
        print(json.dumps(run(), indent=1))
