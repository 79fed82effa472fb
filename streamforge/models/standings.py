"""The leaderboard dataset in the store: one document per (model, evaluation day, instrument set) in the
`leaderboard` collection, holding that model's test forecasts of the day for every seed — the rows the leaderboard
is computed from — and how it was produced (protocol, model config, lead-lag pairs, fit reports, code version).

`evaluate_partition` is what the `leaderboard` asset runs for one partition; `read_forecasts` gathers the stored
rows of a span for `summarise`. Keeping the forecasts rather than only the metrics is what lets the leaderboard pool
days, average seeds and test every model against the best baseline on exactly the same intervals.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from streamforge.catalog import LEADERBOARD as LEADERBOARD_DATASET, dataset
from streamforge.graph import GraphConfig
from streamforge.models.card import code_version
from streamforge.models.evaluation import FORECAST_SCHEMA, Evaluation
from streamforge.models.forecaster import ModelSpec
from streamforge.models.walkforward import Protocol, evaluate_day
from streamforge.models.window import read_inputs, universe_name
from streamforge.models.lineup import LINEUP
from streamforge.store import Store

LEADERBOARD = dataset(LEADERBOARD_DATASET).collection


def document_key(label: str, day: date, universe: list[str]) -> str:
    return f"{label}|{day.isoformat()}|{universe_name(universe)}"


def evaluate_partition(store: Store, spec: ModelSpec, day: date, universe: list[str], protocol: Protocol) -> Evaluation:
    """Evaluate one model on one day from the stored candles of its window, store its forecasts; return the
    evaluation (forecasts of the model and of the closed-form baselines, for the partition's own metadata)."""
    first = protocol.first_day(day)
    c5, c1, trades = read_inputs(store, universe, first, day)
    closed_form = [s for s in LINEUP if s.cls.deterministic and s.label != spec.label]
    evaluation = evaluate_day(c5, c1, trades, day, [spec, *closed_form], protocol, universe, GraphConfig.from_settings())
    mine = evaluation.forecasts.filter(pl.col("model") == spec.label)
    store.put_documents(
        LEADERBOARD,
        [{
            "key": document_key(spec.label, day, universe),
            "model": spec.label,
            "day": day.isoformat(),
            "universe": universe,
            "spec": spec.to_dict(),
            "protocol": protocol.to_dict(),
            "lead_lag": evaluation.lead_lag.to_dicts(),
            "fits": [{"seed": f.forecaster.seed, **vars(f.report)} for f in evaluation.fitted if f.spec.label == spec.label],
            "code_version": code_version(),
            "forecasts": mine.with_columns(pl.col("day").cast(pl.String), pl.col("open_time").dt.epoch("us")).to_dict(as_series=False),
        }],
        key_field="key",
    )
    return evaluation


def read_forecasts(store: Store, start: date, end: date, universe: list[str] | None = None) -> pl.DataFrame:
    """FORECAST_SCHEMA rows of every stored (model, day) from `start` to `end` inclusive (of one instrument set
    when `universe` is given; otherwise of the set most days were evaluated on, so instrument sets never mix)."""
    docs = [d for d in store.get_documents(LEADERBOARD) if start.isoformat() <= d["day"] <= end.isoformat()]
    if universe is None and docs:
        counts = pl.Series([("+".join(d["universe"])) for d in docs]).value_counts(sort=True)
        universe = counts[0, 0].split("+")
    docs = [d for d in docs if universe is None or d["universe"] == sorted(universe)]
    if not docs:
        return pl.DataFrame(schema=FORECAST_SCHEMA)
    return pl.concat(
        pl.DataFrame(d["forecasts"]).with_columns(
            pl.col("day").str.to_date(), pl.col("open_time").cast(pl.Datetime("us", "UTC"))
        ).cast(FORECAST_SCHEMA).select(list(FORECAST_SCHEMA))
        for d in docs
    )


def evaluated_days(forecasts: pl.DataFrame) -> list[date]:
    return sorted(forecasts["day"].unique().to_list())

