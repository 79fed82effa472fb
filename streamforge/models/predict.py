"""Score a new day with a saved model: rebuild the graph with the model's own training statistics (RV floor,
normalisation, lead-lag pairs) and read the model's forecasts for the day's nodes.

A day that overlaps the model's own window — its training, validation or test block, or the embargoes between —
is refused (InSampleError naming the block): a forecast there is not out of sample, and reading it as one is how
a backtest flatters a model. `in_sample=True` scores it anyway, every row labelled with the block it falls in.

Pass candles from before the day as well (a day is plenty): temporal and similarity edges, HAR components and the
first 1-minute return reach back, and nodes at the start of the day would otherwise see less than in training.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from streamforge.dates import day_bounds_us
from streamforge.errors import InSampleError, InsufficientDataError
from streamforge.graph.builder import build_graph_with_stats
from streamforge.graph.features import INTERVAL_US
from streamforge.schemas import INSTRUMENT
from streamforge.models.metrics import log_variance_forecast
from streamforge.models.panel import Panel
from streamforge.models.split import Split
from streamforge.models.train import TrainedModel
from streamforge.models.window import read_inputs
from streamforge.store import Store

OUT_OF_SAMPLE = "out_of_sample"


def block_of(split: Split, open_time_us: np.ndarray) -> np.ndarray:
    """The block of the model's window each interval lies in (by the interval and the next one it forecasts)."""
    labels = np.full(len(open_time_us), OUT_OF_SAMPLE, dtype=object)
    inside = (open_time_us + 2 * INTERVAL_US > split.start_us) & (open_time_us < split.end_us)
    labels[inside] = "embargo"
    for name, mask in split.blocks(open_time_us).items():
        labels[mask] = name
    return labels


def predict(
    model: TrainedModel,
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    day: date,
    trades: pl.DataFrame | None = None,
    in_sample: bool = False,
) -> pl.DataFrame:
    """instrument, open_time, forecast_log_rv (next interval's log realized variance), forecast_variance (its
    bias-corrected conditional mean), return_score (> 0: up), block, one row per 5-minute node of `day`."""
    start, end = day_bounds_us(day)
    bundle = build_graph_with_stats(candles_5m, candles_1m, trades, model.stats, model.graph_config)
    t = bundle.nodes["open_time"].dt.epoch("us").to_numpy()
    in_day = (t >= start) & (t < end)
    if not in_day.any():
        raise InsufficientDataError(f"no 5-minute candles on {day} to score")
    blocks = block_of(model.split, t[in_day])
    overlap = sorted(set(blocks) - {OUT_OF_SAMPLE})
    if overlap and not in_sample:
        raise InSampleError(
            f"{day} lies inside model {model.model_id}'s own window ({', '.join(overlap)} block): its forecasts there "
            "are not out of sample; score a later day, or pass in_sample (--in-sample) to get them labelled"
        )
    panel = Panel.of(bundle)
    nodes = np.nonzero(in_day)[0]
    forecast = model.forecaster.forecast(panel, nodes)
    instruments = panel.instruments[nodes]
    pooled = float(np.mean(list(model.residual_variance.values())))
    s2 = np.array([model.residual_variance.get(s, pooled) for s in instruments])
    return pl.DataFrame(
        {
            INSTRUMENT: instruments,
            "open_time": bundle.nodes["open_time"].gather(nodes),
            "forecast_log_rv": forecast.log_rv,
            "forecast_variance": np.exp(log_variance_forecast(forecast.log_rv, s2)),
            "return_score": forecast.return_score,
            "block": blocks.astype(str),
        }
    )


def score_day(store: Store, model: TrainedModel, day: date, in_sample: bool = False) -> pl.DataFrame:
    """The model's forecasts for every 5-minute interval of `day`, from stored candles of the day and the day before
    (so the day's first nodes have the same look-back as in training); `predict` says why in-sample days are
    refused unless `in_sample`."""
    instruments = sorted(model.stats.normalisation.mean)
    with_trades = not model.stats.absent_features
    c5, c1, trades = read_inputs(store, instruments, day - timedelta(days=1), day, with_trades)
    return predict(model, c5, c1, day, trades, in_sample)
