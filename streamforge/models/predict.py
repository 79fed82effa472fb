"""Score a new day with a saved model: rebuild the graph with the model's own training statistics (normalisation,
lead-lag pairs) and read the GNN's forecasts for the day's nodes.

Pass candles from before the day as well (a day is plenty): temporal and similarity edges and the first 1-minute
return reach back, and nodes at the start of the day would otherwise have a thinner neighbourhood than in training.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from streamforge.errors import InsufficientDataError
from streamforge.graph.builder import build_graph_with_stats, to_pyg
from streamforge.models.train import TrainedModel, net_forecast
from streamforge.dates import day_bounds_us


def predict(
    model: TrainedModel,
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    day: date,
    trades: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """instrument, open_time, forecast_log_rv (next interval's log realized variance), forecast_rv, up_probability
    (of the next interval's return being positive), one row per 5-minute node of `day`."""
    bundle = build_graph_with_stats(candles_5m, candles_1m, trades, model.stats, model.graph_config)
    start, end = day_bounds_us(day)
    t = bundle.nodes["open_time"].dt.epoch("us").to_numpy()
    in_day = (t >= start) & (t < end)
    if not in_day.any():
        raise InsufficientDataError(f"no 5-minute candles on {day} to score")
    mean, std = model.stats.normalisation.log_rv_scale(bundle.nodes["instrument"].to_list())
    forecast = net_forecast(model.net, to_pyg(bundle), mean, std)
    return bundle.nodes.filter(pl.Series(in_day)).select(
        "instrument",
        "open_time",
        pl.Series("forecast_log_rv", forecast.log_rv[in_day]),
        pl.Series("forecast_rv", np.exp(forecast.log_rv[in_day])),
        pl.Series("up_probability", 1.0 / (1.0 + np.exp(-forecast.return_score[in_day]))),
    )
