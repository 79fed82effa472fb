"""Forecasting next-interval volatility on the market graph: the GNN, its baselines, the split, metrics, persistence."""

from streamforge.models.persist import load_model, save_model
from streamforge.models.predict import predict
from streamforge.models.split import Split
from streamforge.models.train import TrainConfig, TrainedModel, train_and_evaluate

__all__ = ["Split", "TrainConfig", "TrainedModel", "load_model", "predict", "save_model", "train_and_evaluate"]
