"""A failed backfill says why, without the UI: each failed run names the step that failed and the error its asset
raised, the description of a blocking check that failed, or, when no step ran, the run's own failure. Runs of a
backfill are found by the tag the daemon gives them, so these runs carry it too; the instance is a real one."""

from __future__ import annotations

import dagster as dg
from rich.console import Console

from dagster_runs import HISTORICAL
from streamforge_app.control import failure_reasons, print_backfill
from streamforge_app.webserver import BackfillStatus

BACKFILL = {"dagster/backfill": "bf-failing"}


def test_a_failed_step_is_named_with_the_error_its_asset_raised(instance, resources, faults):
    faults(malformed="BTCUSDT:2025-01-05")
    tags = BACKFILL | {"dagster/asset_partition_range_start": "2025-01-05|binance.spot.BTCUSDT",
                       "dagster/asset_partition_range_end": "2025-01-05|binance.spot.BTCUSDT"}
    assert not dg.materialize(HISTORICAL, instance=instance, resources=resources, tags=tags, raise_on_error=False).success
    [line] = failure_reasons(instance, "bf-failing")
    assert line.startswith("run ") and " failed in step trades: streamforge.errors.MalformedDataError: " in line, line
    assert "BTCUSDT-aggTrades-2025-01-05" in line and "row" in line


def test_a_failed_blocking_check_is_named_with_its_description(instance):
    @dg.asset
    def candles() -> int:
        return 1

    @dg.asset_check(asset=candles, blocking=True)
    def ohlc_invariants() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="high below low at 2025-01-05T12:05")

    assert not dg.materialize([candles, ohlc_invariants], instance=instance, tags=BACKFILL, raise_on_error=False).success
    [line] = failure_reasons(instance, "bf-failing")
    assert line.endswith("failed in step candles_ohlc_invariants: Asset check 'ohlc_invariants' on 'candles' did not "
                         "pass. Description: 'high below low at 2025-01-05T12:05'"), line


def test_a_run_that_failed_before_any_step_says_so_and_the_backfill_prints_it(instance):
    @dg.asset
    def trades() -> int:
        return 1

    job = dg.define_asset_job("historical", [trades]).resolve(asset_graph=dg.Definitions(assets=[trades]).resolve_asset_graph())
    run = instance.create_run_for_job(job, tags=BACKFILL)
    instance.report_run_failed(run, "run worker exited unexpectedly (exit code 137: out of memory?)")
    line = (f"run {run.run_id[:8]} failed before any step did: "
            "run worker exited unexpectedly (exit code 137: out of memory?)")
    assert failure_reasons(instance, "bf-failing") == [line]
    console = Console(width=80, record=True)  # narrower than the line: it is printed whole all the same
    print_backfill(BackfillStatus("bf-failing", "COMPLETED_FAILED", [], None), console)
    assert line in console.export_text()


def test_the_failed_runs_of_a_backfill_by_the_command_are_found_by_its_own_tag(instance):
    from streamforge_assets.backfills import TAG

    @dg.asset
    def trades() -> int:
        return 1

    job = dg.define_asset_job("historical", [trades]).resolve(asset_graph=dg.Definitions(assets=[trades]).resolve_asset_graph())
    run = instance.create_run_for_job(job, tags={TAG: "sized"})
    instance.report_run_failed(run, "run worker exited unexpectedly")
    assert failure_reasons(instance, "sized") == []
    console = Console(width=120, record=True)
    print_backfill(BackfillStatus("sized", "COMPLETED_FAILED", [], None, runs_tag=TAG), console)
    assert f"run {run.run_id[:8]} failed before any step did: run worker exited unexpectedly" in console.export_text()
