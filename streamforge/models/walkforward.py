"""Walk-forward evaluation: rolling origins, one per evaluation day, each with its own training window.

For evaluation day D the test block is D itself (every 5-minute interval whose next interval is also in D). Before
it: an embargo, a validation block (the last `val_fraction` of the window before D, for early stopping and the
variance correction), another embargo, and the training block. The window is `train_days` days before D (sliding)
or every day since `expanding_from` (expanding, at least `train_days`). Everything fitted from data — the RV floor,
the normalisation, the lead-lag pairs, the HAR coefficients, the weights — is fitted on that origin's training block
alone, then D is forecast; D's data never reaches a fit. Several seeds per neural model; deterministic baselines once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from streamforge import settings
from streamforge.dates import day_bounds_us
from streamforge.errors import ConfigError
from streamforge.graph import GraphConfig, build_graph
from streamforge.models.evaluation import FORECAST_SCHEMA, Evaluation, blocks_of, evaluate
from streamforge.models.forecaster import ModelSpec
from streamforge.models.panel import Panel
from streamforge.models.split import Split


@dataclass(frozen=True)
class Protocol:
    train_days: int
    expanding_from: date | None
    val_fraction: float
    embargo: int  # intervals
    seeds: tuple[int, ...]

    @classmethod
    def from_settings(cls) -> Protocol:
        g = settings.get
        expanding = g("STREAMFORGE_LEADERBOARD_EXPANDING_FROM").strip()
        seeds = tuple(int(s) for s in g("STREAMFORGE_LEADERBOARD_SEEDS").split(",") if s.strip())
        if not seeds:
            raise ConfigError("STREAMFORGE_LEADERBOARD_SEEDS names no seed; give e.g. 0,1,2")
        return cls(
            train_days=int(g("STREAMFORGE_LEADERBOARD_TRAIN_DAYS")),
            expanding_from=date.fromisoformat(expanding) if expanding else None,
            val_fraction=float(g("STREAMFORGE_MODEL_VAL_FRACTION")),
            embargo=int(g("STREAMFORGE_MODEL_EMBARGO")),
            seeds=seeds,
        )

    def first_day(self, day: date) -> date:
        """First day of the window that evaluates `day`."""
        sliding = day - timedelta(days=self.train_days)
        if self.expanding_from is None:
            return sliding
        if self.expanding_from > sliding:
            raise ConfigError(
                f"an expanding window from {self.expanding_from} has fewer than {self.train_days} training days "
                f"before {day}; evaluate from {self.expanding_from + timedelta(days=self.train_days)} on"
            )
        return self.expanding_from

    def split(self, day: date) -> Split:
        start, _ = day_bounds_us(self.first_day(day))
        test_start, end = day_bounds_us(day)
        return Split.walk_forward(start, test_start, end, self.val_fraction, self.embargo)

    def to_dict(self) -> dict:
        return {
            "train_days": self.train_days,
            "scheme": "sliding" if self.expanding_from is None else f"expanding from {self.expanding_from}",
            "val_fraction": self.val_fraction,
            "embargo": self.embargo,
            "seeds": list(self.seeds),
        }


def evaluate_day(
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    trades: pl.DataFrame | None,
    day: date,
    specs: list[ModelSpec],
    protocol: Protocol,
    instruments: list[str],
    graph_config: GraphConfig | None = None,
) -> Evaluation:
    """Evaluate `specs` on `day` from the candles (and trades) of its window, which the frames must cover."""
    first = protocol.first_day(day)
    split = protocol.split(day)
    start, _ = day_bounds_us(first)
    _, end = day_bounds_us(day)
    frames = [
        None if f is None else f.filter(pl.col(t).dt.epoch("us").is_between(start, end, closed="left"))
        for f, t in ((candles_5m, "open_time"), (candles_1m, "open_time"), (trades, "time"))
    ]
    bundle = build_graph(*frames, train_end=split.train_end_us, instruments=instruments, config=graph_config)
    panel = Panel.of(bundle)
    return evaluate(panel, blocks_of(panel, split), specs, protocol.seeds, day)


def walk_forward(
    candles_5m: pl.DataFrame,
    candles_1m: pl.DataFrame,
    trades: pl.DataFrame | None,
    days: list[date],
    specs: list[ModelSpec],
    protocol: Protocol,
    instruments: list[str],
    graph_config: GraphConfig | None = None,
) -> pl.DataFrame:
    """FORECAST_SCHEMA rows of every spec on every evaluation day (one origin per day)."""
    parts = [
        evaluate_day(candles_5m, candles_1m, trades, day, specs, protocol, instruments, graph_config).forecasts
        for day in days
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=FORECAST_SCHEMA)
