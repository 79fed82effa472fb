"""The tables a person reads: the same rows for the Dagster UI (markdown) and the terminal (rich).

Every number comes with its uncertainty and its baseline: mean ± sd over seeds with the HAC standard error over
time, directional accuracy beside its base rate, and the Diebold–Mariano statistic against the best baseline (the
reference, named). Undefined values (directional accuracy or IC of a flat market) show as '—', never as a number.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from streamforge.schemas import INSTRUMENT
from streamforge.models.metrics import ALL

HEAD_HEADER = ("model", "kind", "MSE log RV (± sd seeds, se)", "QLIKE (± sd, se)", "dir. acc. (base)", "IC (± sd)", "DM MSE vs ref (p)")


def _pm(mean, sd, se=None, digits: int = 4) -> str:
    if mean is None:
        return "—"
    text = f"{mean:.{digits}f} ± {sd:.{digits}f}"
    return f"{text} ({se:.{digits}f})" if se is not None else text


def head_rows(summary: pl.DataFrame, instrument: str = ALL, limit: int | None = None) -> list[tuple[str, ...]]:
    """The leaderboard's rows for `instrument` (ALL: pooled), best MSE first, every number with its uncertainty and
    the reference baseline named in the DM column."""
    part = summary.filter(pl.col(INSTRUMENT) == instrument).sort("mse_log_rv", "model")
    rows = []
    for r in part.head(limit or part.height).iter_rows(named=True):
        dm = "reference" if r["model"] == r["reference"] else (
            "—" if r["dm_mse"] is None else f"{r['dm_mse']:+.2f} (p {r['dm_mse_p']:.3f}) vs {r['reference']}"
        )
        da = "—" if r["directional_accuracy"] is None else (
            f"{r['directional_accuracy']:.3f} ± {r['directional_sd']:.3f} ({r['base_rate']:.3f})"
        )
        rows.append((
            r["model"], r["kind"], _pm(r["mse_log_rv"], r["mse_sd"], r["mse_se"]), _pm(r["qlike"], r["qlike_sd"], r["qlike_se"]),
            da, _pm(r["information_coefficient"], r["ic_sd"], digits=3), dm,
        ))
    return rows


LAGGING_HEADER = ("lagging side", "led by (lag in 5-min bars)", "model", "MSE model", "MSE best baseline", "gain", "DM (p)")


def lagging_side_rows(summary: pl.DataFrame, lead_lag: list[dict], model: str) -> list[tuple[str, ...]]:
    """One row per instrument that the training block's lead-lag pairs say follows another: the model against the
    best baseline on that instrument alone. Cross-asset edges can only help where an instrument lags, and the pooled
    row averages that gain away over the leaders (a perpetual leading its spot instrument shows up here)."""
    leaders: dict[str, list[str]] = {}
    for pair in lead_lag:
        leaders.setdefault(pair["follower"], []).append(f"{pair['leader']} ({pair['lag']})")
    rows = []
    for follower in sorted(leaders):
        part = summary.filter(pl.col(INSTRUMENT) == follower)
        own = part.filter(pl.col("model") == model)
        if own.is_empty():
            continue
        r = own.row(0, named=True)
        base = part.filter(pl.col("model") == r["reference"])["mse_log_rv"]
        baseline = base[0] if len(base) else None
        gain = "—" if baseline is None or not baseline else f"{1 - r['mse_log_rv'] / baseline:+.1%}"
        dm = "—" if r["dm_mse"] is None else f"{r['dm_mse']:+.2f} ({r['dm_mse_p']:.3f})"
        rows.append((
            follower, ", ".join(leaders[follower]), f"{model} vs {r['reference']}", _pm(r["mse_log_rv"], r["mse_sd"], r["mse_se"]),
            "—" if baseline is None else f"{baseline:.4f}", gain, dm,
        ))
    return rows


def caption(summary: pl.DataFrame, forecasts_days: list[date]) -> str:
    seeds = int(summary["seeds"].max()) if summary.height else 0
    span = f"{min(forecasts_days)}..{max(forecasts_days)}" if forecasts_days else "no days"
    return (
        f"leaderboard {span} ({len(forecasts_days)} evaluation day(s), up to {seeds} seed(s)): mean ± sd over seeds, "
        "(HAC s.e. over time); QLIKE on the bias-corrected variance; DM < 0: lower loss than the best baseline"
    )


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def leaderboard_markdown(summary: pl.DataFrame, days: list[date], limit: int | None = None) -> str:
    """Caption, the pooled table and one table per instrument."""
    parts = [caption(summary, days), "", markdown(HEAD_HEADER, head_rows(summary, ALL, limit))]
    for instrument in sorted(set(summary[INSTRUMENT]) - {ALL}):
        parts += ["", f"**{instrument}**", "", markdown(HEAD_HEADER, head_rows(summary, instrument, limit))]
    return "\n".join(parts)
