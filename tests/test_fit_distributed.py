"""`fit` under data parallelism: 2 gloo ranks (torchrun) training a contrastive objective take
the same step as one process on the same global batch (the loss gathers embeddings with
gradients across ranks), and evaluation is averaged over ranks."""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

WORKER = Path(__file__).with_name("_fit_ddp_worker.py")


def _run(cmd, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(WORKER.parent)}
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["history"])


def test_two_ranks_step_like_one_process_on_the_global_batch(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    _run([sys.executable, str(WORKER), str(one), "8"], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
          f"--master_port={_free_port()}", str(WORKER), str(two), "4"], tmp_path)
    (w1, h1), (w2, h2) = _read(one), _read(two)
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w1[key], w2[key], atol=1e-6, rtol=1e-6, msg=key)
    # the step moved the weights (equal weights are not merely the equal initial ones)
    assert abs(w1["heads.match.logit_scale"].item() - math.log(1 / 0.07)) > 1e-3
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
    fit(ContrastiveObjective(model, "match"), data, config=TrainConfig(epochs=1, batch_size=8, progress=False))
    assert model.heads["los"].fc.weight.requires_grad
    assert torch.equal(model.heads["los"].fc.weight, los_before)
