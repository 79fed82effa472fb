"""The model interface: every registered forecaster runs through the same protocol, and a model defined here — one
class and one registration — joins the leaderboard without any other change."""

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pytest
from model_runs import PROTOCOL, QUICK, INSTRUMENTS, window

from streamforge.errors import ConfigError
from streamforge.models.forecaster import ModelSpec
from streamforge.models.forecaster import FORECASTERS, FitReport, Forecast, Forecaster, register
from streamforge.models.leaderboard import summarise
from streamforge.models.walkforward import walk_forward
from streamforge.models.lineup import LINEUP

DAY = date(2025, 1, 3)


@dataclass(frozen=True)
class DriftConfig:
    weight: float = 0.5


@register("test-drift")
class Drift(Forecaster):
    """Shrinks this interval's log RV towards the instrument's training mean: a model in nine lines."""

    Config = DriftConfig
    deterministic = True

    def fit(self, panel, blocks) -> FitReport:
        return FitReport(0, 0, None, 0.0)

    def forecast(self, panel, nodes) -> Forecast:
        w = self.config.weight
        return Forecast(w * panel.nodes["log_rv"].to_numpy()[nodes] + (1 - w) * panel.mean[nodes], np.zeros(len(nodes)))

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass


def test_a_model_defined_in_a_test_registers_and_runs_through_the_protocol():
    specs = [ModelSpec("persistence"), ModelSpec("har"), ModelSpec("test-drift", overrides=(("weight", 0.7),))]
    forecasts = walk_forward(*window(True), [DAY], specs, PROTOCOL, INSTRUMENTS)
    summary = summarise(forecasts)
    drift = summary.filter((pl.col("model") == "test-drift") & (pl.col("instrument") == "ALL")).row(0, named=True)
    assert drift["n"] == 287 * len(INSTRUMENTS) and drift["seeds"] == 1  # deterministic: fitted once, not per seed
    assert drift["reference"] in {"persistence", "har"} and drift["dm_mse_p"] is not None


@pytest.mark.slow
def test_every_line_up_model_fits_and_forecasts_on_the_same_rows():
    specs = [ModelSpec(s.forecaster, s.label, s.overrides + (() if s.cls.deterministic else QUICK)) for s in LINEUP]
    forecasts = walk_forward(*window(True), [DAY], specs, PROTOCOL, INSTRUMENTS)
    rows = forecasts.group_by("model", "seed").agg(
        pl.len(), first=pl.col("open_time").min(), last=pl.col("open_time").max(), actual=pl.col("actual_log_rv").sum()
    )
    assert set(rows["model"]) == {s.label for s in LINEUP}
    assert rows.select("len", "first", "last", "actual").n_unique() == 1  # same nodes, same targets, every model
    assert rows.filter(pl.col("model") == "relational")["seed"].sort().to_list() == [0, 1]
    assert forecasts.select(pl.col("forecast_log_rv", "log_variance", "return_score").is_finite().all()).row(0) == (True,) * 3


def test_registration_refuses_a_duplicate_name_and_a_config_that_is_not_a_frozen_dataclass():
    with pytest.raises(ConfigError, match="registered twice"):
        register("persistence")(Drift)
    assert FORECASTERS["persistence"].__name__ == "Persistence"

    class Loose(Drift):
        Config = dict

    with pytest.raises(ConfigError, match="frozen dataclass"):
        register("test-loose")(Loose)


def test_unknown_models_and_config_fields_are_named():
    with pytest.raises(ConfigError, match="no forecaster 'lstm'.*relational"):
        ModelSpec("lstm").config()
    with pytest.raises(ConfigError, match=r"relational has no config field\(s\) \['dropout'\]"):
        ModelSpec("relational", overrides=(("dropout", 0.1),)).config()
