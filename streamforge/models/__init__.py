"""Forecasting next-interval volatility on the market graph: registered forecasters (`zoo`), one evaluation step
(`evaluation`), the walk-forward protocol, the leaderboard, model cards, persistence and out-of-sample prediction."""

from streamforge.models.forecaster import ModelSpec
from streamforge.models.persist import load_model, save_model
from streamforge.models.predict import predict
from streamforge.models.split import Split
from streamforge.models.train import TrainedModel, train_and_evaluate

__all__ = ["ModelSpec", "Split", "TrainedModel", "load_model", "predict", "save_model", "train_and_evaluate"]
