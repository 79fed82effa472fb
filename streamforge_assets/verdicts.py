"""Turning the core's per-partition check outcomes into one Dagster check result per run.

A run may cover several partitions; the check passes only if every partition passes, and its metadata says which
failed and why, so the UI shows the culprit without opening logs.
"""

from __future__ import annotations

import dagster as dg

from streamforge.checks import CheckOutcome


def check_result(name: str, outcomes: dict[str, CheckOutcome], asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    failed = {k: o.description for k, o in sorted(outcomes.items()) if not o.passed}
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=asset_key,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("; ".join(f"{k}: {d}" for k, d in failed.items()) if failed else f"{len(outcomes)} partitions passed"),
        metadata={
            "partitions_checked": len(outcomes),
            "partitions_failed": len(failed),
            "details": dg.MetadataValue.json({k: _jsonable(o.metadata) for k, o in sorted(outcomes.items())}),
        },
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
