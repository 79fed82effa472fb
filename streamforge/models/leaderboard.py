"""The leaderboard: every model's forecasts over the evaluated days, summarised per instrument and pooled, each
number with its uncertainty and each model tested against the best baseline.

Per (model, instrument or ALL):
- MSE on log RV and bias-corrected QLIKE on variance, directional accuracy beside its base rate, IC: the mean over
  seeds and its standard deviation over seeds (0 seeds of spread for a deterministic baseline: it is fitted once);
- the HAC standard error of MSE and QLIKE over time (the seed-averaged loss per interval; pooled: averaged over
  instruments per interval first, because the instruments of one interval share the market's shocks);
- Diebold–Mariano against the reference, the best baseline — the baseline (persistence, HAR, HAR-X, MLP) with the
  lowest pooled MSE over the same rows. Picking the reference on the evaluated rows makes it the hardest baseline
  there is, so a significant DM statistic is conservative. The loss differential is the model's seed-averaged loss
  minus the reference's, per (instrument, interval), pooled like the standard errors; negative = the model is better.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from streamforge.errors import InsufficientDataError
from streamforge.schemas import INSTRUMENT
from streamforge.models.forecaster import BASELINE
from streamforge.models.metrics import (
    ALL,
    base_rate,
    directional_accuracy,
    information_coefficient,
    qlike_losses,
    squared_errors,
)
from streamforge.stattests import diebold_mariano, hac_variance_of_mean

LEADERBOARD_SCHEMA = {
    "model": pl.String,
    "kind": pl.String,
    INSTRUMENT: pl.String,
    "n": pl.Int64,  # forecasts per seed
    "seeds": pl.Int64,
    "days": pl.Int64,
    "mse_log_rv": pl.Float64,
    "mse_sd": pl.Float64,  # over seeds
    "mse_se": pl.Float64,  # HAC, over time
    "qlike": pl.Float64,
    "qlike_sd": pl.Float64,
    "qlike_se": pl.Float64,
    "directional_accuracy": pl.Float64,
    "directional_sd": pl.Float64,
    "base_rate": pl.Float64,
    "information_coefficient": pl.Float64,
    "ic_sd": pl.Float64,
    "reference": pl.String,
    "dm_mse": pl.Float64,
    "dm_mse_p": pl.Float64,
    "dm_qlike": pl.Float64,
    "dm_qlike_p": pl.Float64,
}
_LOSSES = ("squared_error", "qlike_loss")


def with_losses(forecasts: pl.DataFrame) -> pl.DataFrame:
    return forecasts.with_columns(
        squared_error=pl.Series(squared_errors(forecasts["forecast_log_rv"].to_numpy(), forecasts["actual_log_rv"].to_numpy())),
        qlike_loss=pl.Series(qlike_losses(forecasts["log_variance"].to_numpy(), forecasts["actual_log_rv"].to_numpy())),
    )


def best_baseline(losses: pl.DataFrame) -> str:
    pooled = (
        losses.filter(pl.col("kind") == BASELINE)
        .group_by("model")
        .agg(pl.col("squared_error").mean())
        .sort("squared_error", "model")
    )
    if pooled.is_empty():
        raise InsufficientDataError("the leaderboard holds no baseline to compare the models with")
    return pooled["model"][0]


def summarise(forecasts: pl.DataFrame) -> pl.DataFrame:
    """LEADERBOARD_SCHEMA rows, pooled (ALL) and per instrument, for every model in `forecasts` (FORECAST_SCHEMA)."""
    if forecasts.is_empty():
        raise InsufficientDataError("no forecasts to summarise: evaluate some models first")
    losses = with_losses(forecasts)
    reference = best_baseline(losses)
    # Seed-averaged loss per (model, instrument, interval): the series the standard errors and DM tests run on.
    series = losses.sort("seed").group_by("model", INSTRUMENT, "open_time", maintain_order=True).agg(pl.col(_LOSSES).mean())
    ref_series = series.filter(pl.col("model") == reference).drop("model")
    models = losses.select("model", "kind").unique(maintain_order=True)
    rows = []
    for model, kind in models.iter_rows():
        mine = losses.filter(pl.col("model") == model)
        differences = series.filter(pl.col("model") == model).join(ref_series, on=[INSTRUMENT, "open_time"], suffix="_ref")
        for instrument in [ALL, *sorted(mine[INSTRUMENT].unique())]:
            part = mine if instrument == ALL else mine.filter(pl.col(INSTRUMENT) == instrument)
            own = series.filter(pl.col("model") == model)
            diff = differences
            if instrument != ALL:
                own, diff = own.filter(pl.col(INSTRUMENT) == instrument), diff.filter(pl.col(INSTRUMENT) == instrument)
            rows.append(
                {"model": model, "kind": kind, INSTRUMENT: instrument, "days": part["day"].n_unique(), "reference": reference}
                | _over_seeds(part)
                | _over_time(own, diff, model == reference)
            )
    return pl.DataFrame(rows, schema=LEADERBOARD_SCHEMA)


def _over_seeds(part: pl.DataFrame) -> dict:
    per_seed = []
    for _, rows in part.group_by("seed", maintain_order=True):
        score, actual = rows["return_score"].to_numpy(), rows["actual_return"].to_numpy()
        per_seed.append(
            {
                "n": rows.height,
                "mse": float(rows["squared_error"].mean()),
                "qlike": float(rows["qlike_loss"].mean()),
                "da": directional_accuracy(score, actual),
                "ic": information_coefficient(score, actual),
                "base": base_rate(actual),
            }
        )

    def mean_sd(key: str) -> tuple[float | None, float | None]:
        values = [s[key] for s in per_seed if s[key] is not None]
        if not values:
            return None, None
        return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    (mse, mse_sd), (ql, ql_sd), (da, da_sd), (ic, ic_sd) = (mean_sd(k) for k in ("mse", "qlike", "da", "ic"))
    return {
        "n": per_seed[0]["n"], "seeds": len(per_seed), "mse_log_rv": mse, "mse_sd": mse_sd, "qlike": ql,
        "qlike_sd": ql_sd, "directional_accuracy": da, "directional_sd": da_sd, "base_rate": per_seed[0]["base"],
        "information_coefficient": ic, "ic_sd": ic_sd,
    }


def _by_time(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """One value per interval: the mean over the instruments of that interval."""
    # sorted first, so the float sums add up in one order and a rerun gives bit-identical numbers
    ordered = frame.sort("open_time", *([INSTRUMENT] if INSTRUMENT in frame.columns else []))
    return ordered.group_by("open_time", maintain_order=True).agg(pl.col(columns).mean())


def _over_time(own: pl.DataFrame, diff: pl.DataFrame, is_reference: bool) -> dict:
    own = _by_time(own, list(_LOSSES))
    out = {
        "mse_se": float(np.sqrt(hac_variance_of_mean(own["squared_error"].to_numpy()))),
        "qlike_se": float(np.sqrt(hac_variance_of_mean(own["qlike_loss"].to_numpy()))),
        "dm_mse": None, "dm_mse_p": None, "dm_qlike": None, "dm_qlike_p": None,
    }
    if is_reference:
        return out
    d = _by_time(
        diff.select(
            "open_time",
            INSTRUMENT,
            (pl.col("squared_error") - pl.col("squared_error_ref")).alias("mse"),
            (pl.col("qlike_loss") - pl.col("qlike_loss_ref")).alias("qlike"),
        ),
        ["mse", "qlike"],
    )
    for name in ("mse", "qlike"):
        test = diebold_mariano(d[name].to_numpy())
        out[f"dm_{name}"], out[f"dm_{name}_p"] = test.statistic, test.p_value
    return out
