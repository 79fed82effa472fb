"""Fit model specs on one panel's blocks and keep their test forecasts as rows: the one evaluation step that the
walk-forward protocol repeats per origin and the `model` asset runs once.

Every spec sees the same panel and the same blocks. A deterministic forecaster (persistence, HAR, HAR-X) is fitted
once; the others once per seed. The variance forecast of each (model, seed) is bias-corrected with that fit's own
validation error (see `metrics.variance_forecast`), so QLIKE compares conditional means, not medians.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import torch

from streamforge.errors import InsufficientDataError, StreamForgeError
from streamforge.schemas import INSTRUMENT
from streamforge.models.forecaster import FitReport, Forecaster, ModelSpec
from streamforge.models.metrics import log_variance_forecast, residual_variance
from streamforge.models.panel import Panel
from streamforge.models.split import Split

# One row per (model, seed, test node): what the leaderboard is computed from.
FORECAST_SCHEMA = {
    "model": pl.String,
    "forecaster": pl.String,
    "kind": pl.String,
    "seed": pl.Int64,
    "day": pl.Date,
    INSTRUMENT: pl.String,
    "open_time": pl.Datetime("us", "UTC"),
    "forecast_log_rv": pl.Float64,
    "log_variance": pl.Float64,  # log of the bias-corrected variance forecast
    "return_score": pl.Float64,
    "actual_log_rv": pl.Float64,
    "actual_return": pl.Float64,
}


@dataclass
class Fitted:
    spec: ModelSpec
    forecaster: Forecaster
    report: FitReport
    residual_variance: dict[str, float]


@dataclass
class Evaluation:
    forecasts: pl.DataFrame  # FORECAST_SCHEMA
    fitted: list[Fitted]
    lead_lag: pl.DataFrame  # the pairs the panel's graph found on its training block


def blocks_of(panel: Panel, split: Split) -> dict[str, np.ndarray]:
    """The split's node masks, restricted to nodes with a target; refuses a split with an empty block."""
    if split.train_end_us != panel.stats.train_end_us:
        raise StreamForgeError(
            f"the graph was fitted on data up to {panel.stats.train_end_us} µs but the split trains up to "
            f"{split.train_end_us} µs: build the graph with train_end=split.train_end_us"
        )
    has_target = torch.isfinite(panel.data.y_log_rv).numpy()
    times = panel.nodes["open_time"].dt.epoch("us").to_numpy()
    blocks = {name: mask & has_target for name, mask in split.blocks(times).items()}
    empty = [name for name, mask in blocks.items() if not mask.any()]
    if empty:
        raise InsufficientDataError(f"no nodes with a target in the {', '.join(empty)} block(s) of the split")
    return blocks


def evaluate(panel: Panel, blocks: dict[str, np.ndarray], specs: list[ModelSpec], seeds: tuple[int, ...], day: date) -> Evaluation:
    val, test = np.nonzero(blocks["validation"])[0], np.nonzero(blocks["test"])[0]
    actual_log_rv = panel.data.y_log_rv.double().numpy()
    actual_return = panel.data.y_return.double().numpy()
    instruments = panel.instruments
    frames, fitted = [], []
    for spec in specs:
        for seed in seeds[:1] if spec.cls.deterministic else seeds:
            forecaster = spec.build(seed)
            report = forecaster.fit(panel, blocks)
            both = forecaster.forecast(panel, np.concatenate([val, test]))
            val_rv, test_rv, test_score = both.log_rv[: len(val)], both.log_rv[len(val):], both.return_score[len(val):]
            if not (np.isfinite(both.log_rv).all() and np.isfinite(both.return_score).all()):
                raise StreamForgeError(f"model {spec.label} (seed {seed}) produced non-finite forecasts; it diverged")
            s2 = residual_variance(val_rv, actual_log_rv[val], instruments[val])
            pooled = float(np.mean((val_rv - actual_log_rv[val]) ** 2))  # an instrument absent from validation
            s2_test = np.array([s2.get(s, pooled) for s in instruments[test]])
            fitted.append(Fitted(spec, forecaster, report, s2))
            frames.append(
                pl.DataFrame(
                    {
                        "model": spec.label,
                        "forecaster": spec.forecaster,
                        "kind": spec.cls.kind,
                        "seed": seed,
                        "day": day,
                        INSTRUMENT: instruments[test],
                        "open_time": panel.nodes["open_time"].gather(test),
                        "forecast_log_rv": test_rv,
                        "log_variance": log_variance_forecast(test_rv, s2_test),
                        "return_score": test_score,
                        "actual_log_rv": actual_log_rv[test],
                        "actual_return": actual_return[test],
                    },
                    schema=FORECAST_SCHEMA,
                )
            )
    return Evaluation(pl.concat(frames) if frames else pl.DataFrame(schema=FORECAST_SCHEMA), fitted, panel.stats.lead_lag)
