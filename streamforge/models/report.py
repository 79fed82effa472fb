"""The metrics table a person reads: the same rows for the Dagster UI (markdown) and the terminal (rich).

Rows are the test block of the walk-forward split, every model for every instrument and ALL pooled; undefined values
(directional accuracy or IC of a flat market) show as '—', never as a number.
"""

from __future__ import annotations

import polars as pl

from streamforge.models.metrics import gnn_gain

MODEL_ORDER = ("gnn", "mlp", "har", "persistence")
HEADER = ("instrument", "model", "n", "MSE log RV", "QLIKE", "directional acc.", "IC")
GAIN_HEADER = ("instrument", "GNN MSE", "best of HAR/MLP", "gain")


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def metrics_rows(metrics: pl.DataFrame, block: str = "test") -> list[tuple[str, ...]]:
    rows = metrics.filter(pl.col("block") == block).with_columns(
        order=pl.col("model").replace_strict({m: i for i, m in enumerate(MODEL_ORDER)}, default=len(MODEL_ORDER))
    )
    return [
        (r["instrument"], r["model"], str(r["n"]), _number(r["mse_log_rv"]), _number(r["qlike"]),
         _number(r["directional_accuracy"], 3), _number(r["information_coefficient"], 3))
        for r in rows.sort("instrument", "order").iter_rows(named=True)
    ]


def gain_rows(metrics: pl.DataFrame) -> list[tuple[str, ...]]:
    """Per instrument: positive gain = the GNN's MSE is that share below the best edge-free baseline's."""
    return [
        (r["instrument"], _number(r["gnn"]), _number(r["best_baseline"]), f"{r['gain']:+.1%}")
        for r in gnn_gain(metrics).sort("instrument").iter_rows(named=True)
    ]


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
