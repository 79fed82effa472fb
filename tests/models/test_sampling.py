"""Mini-batch training with sampled neighbourhoods, and the device setting."""

import dataclasses

import numpy as np
import pytest
import torch
from model_runs import QUICK, panel, split

from streamforge.errors import ConfigError
from streamforge.models.forecaster import ModelSpec
from streamforge.models.evaluation import blocks_of
from streamforge.models.neural import Runtime
from streamforge.models.sampling import node_loader

FULL = Runtime(device="cpu", full_graph_nodes=10**9, batch_nodes=0, fanout=-1)
BATCHED = Runtime(device="cpu", full_graph_nodes=0, batch_nodes=700, fanout=-1)


def _fitted(spec: ModelSpec, runtime: Runtime, seed: int = 0):
    forecaster = spec.build(seed)
    forecaster.runtime = runtime
    p = panel(True)
    forecaster.fit(p, blocks_of(p, split()))
    return forecaster


def test_a_batch_holds_its_seeds_first_and_only_in_edges_within_the_fanout():
    data = panel(True).data
    seeds = torch.arange(1000, 1300)
    batch = next(iter(node_loader(data, seeds, (2, 2), batch_size=300, seed=0, shuffle=False)))
    assert batch.batch_size == 300 and torch.equal(batch.n_id[:300], seeds)
    src, dst = batch.n_id[batch.edge_index[0]], batch.n_id[batch.edge_index[1]]
    real = set(zip(data.edge_index[0].tolist(), data.edge_index[1].tolist()))
    assert set(zip(src.tolist(), dst.tolist())) <= real  # every sampled edge exists, in its direction
    first_hop = torch.isin(batch.edge_index[1], torch.arange(300))
    assert torch.bincount(batch.edge_index[1][first_hop], minlength=300).max() <= 2
    again = next(iter(node_loader(data, seeds, (2, 2), batch_size=300, seed=0, shuffle=False)))
    assert torch.equal(again.n_id, batch.n_id) and torch.equal(again.edge_index, batch.edge_index)


def test_training_batches_are_stretches_of_consecutive_seeds_in_a_seeded_shuffled_order():
    data = panel(True).data
    seeds = torch.arange(0, 2000, 2)  # the loader sorts them; every seed lands in exactly one batch
    def batches(seed):
        return [b.n_id[: b.batch_size] for b in node_loader(data, seeds.flip(0), (-1, -1), 300, seed, shuffle=True)]
    one, again = batches(0), batches(0)
    assert torch.equal(torch.sort(torch.cat(one)).values, seeds)
    assert [len(b) for b in one] == [300, 300, 300, 100]  # whole stretches, the shorter one last
    assert all(torch.equal(b, seeds[int(b[0]) // 2 : int(b[0]) // 2 + len(b)]) for b in one)
    assert all(torch.equal(a, b) for a, b in zip(one, again))
    assert len({tuple(int(b[0]) for b in batches(seed)) for seed in range(4)}) > 1  # the order follows the seed


def test_with_every_in_edge_a_mini_batch_forecast_equals_the_full_graph_one():
    for label in ("relational", "gat", "temporal"):
        model = _fitted(ModelSpec(label, overrides=QUICK), FULL)
        nodes = np.nonzero(blocks_of(panel(True), split())["test"])[0]
        full = model.forecast(panel(True), nodes)
        model.runtime = BATCHED
        batched = model.forecast(panel(True), nodes)
        np.testing.assert_allclose(batched.log_rv, full.log_rv, rtol=1e-5, atol=1e-5, err_msg=label)
        np.testing.assert_allclose(batched.return_score, full.return_score, rtol=1e-5, atol=1e-5, err_msg=label)


def test_mini_batch_training_is_seeded_and_finite():
    sampled = dataclasses.replace(BATCHED, fanout=3)
    nodes = np.nonzero(blocks_of(panel(True), split())["test"])[0]
    one, two = (_fitted(ModelSpec("relational", overrides=QUICK), sampled).forecast(panel(True), nodes) for _ in range(2))
    assert np.isfinite(one.log_rv).all()
    np.testing.assert_array_equal(one.log_rv, two.log_rv)


def test_asking_for_cuda_without_it_is_refused_by_name():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="STREAMFORGE_MODEL_DEVICE=cuda but torch sees no CUDA device"):
        dataclasses.replace(FULL, device="cuda").torch_device()
    assert dataclasses.replace(FULL, device="auto").torch_device() == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)")
def test_cuda_and_cpu_train_to_the_same_forecasts_within_tolerance():
    nodes = np.nonzero(blocks_of(panel(True), split())["test"])[0]
    for runtime in (FULL, dataclasses.replace(BATCHED, fanout=5)):
        cpu = _fitted(ModelSpec("relational", overrides=QUICK), runtime).forecast(panel(True), nodes)
        gpu = _fitted(ModelSpec("relational", overrides=QUICK), dataclasses.replace(runtime, device="cuda")).forecast(panel(True), nodes)
        np.testing.assert_allclose(gpu.log_rv, cpu.log_rv, rtol=1e-3, atol=1e-3)
