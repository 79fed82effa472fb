import pytest
import torch
from model_runs import RELATIONAL, graph, split

from streamforge.models.train import train_and_evaluate


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def lead_lag_model():
    return train_and_evaluate(graph(True), split(), RELATIONAL, seed=0, model_id="leadlag")


@pytest.fixture(scope="session")
def control_model():
    return train_and_evaluate(graph(False), split(), RELATIONAL, seed=0, model_id="control")
