"""Train one model on a training window's split and score it, beside every baseline, on the test block: what the
`model` asset and `streamforge train` do. (The leaderboard repeats the same step per walk-forward origin and seed.)

The model is the STREAMFORGE_MODEL label of the line-up (the relational net by default) with the seed
STREAMFORGE_MODEL_SEED; the baselines are persistence, HAR, HAR-X and the MLP. The metrics table is the leaderboard
of the test block: with one seed it has no spread over seeds, so the HAC standard errors and the Diebold–Mariano
test against the best baseline carry the uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from streamforge.graph.builder import GraphBundle, GraphConfig, GraphStats
from streamforge.models.card import model_card
from streamforge.models.evaluation import blocks_of, evaluate
from streamforge.models.forecaster import BASELINE, FitReport, Forecaster, ModelSpec
from streamforge.models.leaderboard import summarise
from streamforge.models.panel import Panel
from streamforge.models.split import Split
from streamforge.models.lineup import LINEUP


@dataclass
class TrainedModel:
    """Everything needed to score a new day and to explain where the model came from."""

    model_id: str
    spec: ModelSpec
    seed: int
    forecaster: Forecaster
    graph_config: GraphConfig
    stats: GraphStats  # RV floor, normalisation, lead-lag pairs, feature set, train end
    split: Split
    residual_variance: dict[str, float]  # per instrument, validation block: the variance forecast's correction
    fit_report: FitReport
    metrics: pl.DataFrame  # LEADERBOARD_SCHEMA over the test block: the model and the baselines
    card: dict


def baselines() -> list[ModelSpec]:
    return [spec for spec in LINEUP if spec.cls.kind == BASELINE]


def train_and_evaluate(bundle: GraphBundle, split: Split, spec: ModelSpec, seed: int, model_id: str = "model") -> TrainedModel:
    panel = Panel.of(bundle)
    blocks = blocks_of(panel, split)
    specs = [spec, *(b for b in baselines() if b.label != spec.label)]
    test_day = datetime.fromtimestamp(split.test_start_us / 1e6, timezone.utc).date()
    evaluation = evaluate(panel, blocks, specs, (seed,), test_day)
    metrics = summarise(evaluation.forecasts)
    fitted = evaluation.fitted[0]
    card = model_card(model_id, spec, seed, bundle.stats, bundle.config, split, fitted.report, metrics)
    return TrainedModel(model_id, spec, seed, fitted.forecaster, bundle.config, bundle.stats, split,
                        fitted.residual_variance, fitted.report, metrics, card)
