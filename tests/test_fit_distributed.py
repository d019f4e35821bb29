"""`fit` under data parallelism: 2 gloo ranks (torchrun) training a contrastive objective take
the same step as one process on the same global batch (the loss gathers embeddings with
gradients across ranks), and evaluation is averaged over ranks."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from zoo_core.testing.processes import run_python

WORKER = Path(__file__).with_name("_fit_ddp_worker.py")


def _read(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["history"])


def test_two_ranks_step_like_one_process_on_the_global_batch(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    run_python(WORKER, [one, "8"], cwd=tmp_path, pythonpath=[WORKER.parent])
    run_python(WORKER, [two, "4"], cwd=tmp_path, pythonpath=[WORKER.parent], nproc=2)
    (w1, h1), (w2, h2) = _read(one), _read(two)
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w1[key], w2[key], atol=1e-6, rtol=1e-6, msg=key)
    # the step moved the weights (equal weights are not merely the equal initial ones)
    assert abs(w1["heads.retrieval.logit_scale"].item() - math.log(1 / 0.07)) > 1e-3
    assert h1[0]["train_loss"] == pytest.approx(h2[0]["train_loss"], rel=1e-6)
    assert h1[0]["rank"] == 0.0 and h2[0]["rank"] == 0.5  # each rank's number, averaged over ranks


@pytest.mark.usefixtures("fake_plugin")
def test_heads_the_objective_does_not_reach_stay_trainable_after_fit():
    """fit freezes the other heads for the run only (so DDP waits for no missing gradient)."""
    import zoo_core
    from zoo_core.objectives import ContrastiveObjective
    from zoo_core.train import TrainConfig, fit

    model = zoo_core.create_model("fake/two-tower")
    los_before = model.heads["los"].fc.weight.detach().clone()
    data = [{"csi": torch.randn(8), "env": torch.randn(5)} for _ in range(16)]
    fit(ContrastiveObjective(model, "retrieval"), data, config=TrainConfig(epochs=1, batch_size=8, progress=False))
    assert model.heads["los"].fc.weight.requires_grad
    assert torch.equal(model.heads["los"].fc.weight, los_before)


def test_two_ranks_deal_out_whole_batch_items(tmp_path):
    """A loader of pre-built batches (batch_size=None) under 2 ranks: each rank trains on one
    item per step, which equals one process on the two items joined (accelerate could not
    shard such a loader before: TypeError in the batch loop)."""
    worker = WORKER.with_name("_fit_whole_batches_worker.py")
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    run_python(worker, [one, "joined"], cwd=tmp_path)
    run_python(worker, [two, "separate"], cwd=tmp_path, nproc=2)
    with safe_open(str(one), "pt") as a, safe_open(str(two), "pt") as b:
        assert sorted(a.keys()) == sorted(b.keys()) == ["bias", "weight"]
        for key in a.keys():
            torch.testing.assert_close(a.get_tensor(key), b.get_tensor(key), atol=1e-12, rtol=1e-12)
