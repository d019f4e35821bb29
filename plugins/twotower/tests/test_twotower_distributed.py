"""The two-tower objective under data parallelism: 2 gloo ranks (torchrun) take the same
SGD step as one process on the same global batch of 8 pairs, since L_C gathers both ranks'
embeddings with gradients and L_R is a mean over equal halves."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from zoo_core.testing.processes import run_python

WORKER = Path(__file__).with_name("_twotower_ddp_worker.py")


def _read(path):
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(meta["history"]), json.loads(meta["last"])


def test_two_ranks_step_like_one_process_on_the_global_batch(tmp_path):
    dist = pytest.importorskip("torch.distributed")
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available in this torch build")
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    run_python(WORKER, [one, "8"], cwd=tmp_path)
    run_python(WORKER, [two, "4"], cwd=tmp_path, nproc=2)
    (w1, h1, last1), (w2, h2, _) = _read(one), _read(two)
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w1[key], w2[key], atol=1e-9, rtol=1e-9, msg=key)
    # the step moved the weights: the logit scale and the CRNN both got gradients
    assert abs(w1["heads.retrieval.logit_scale"].item() - math.log(1 / 0.07)) > 1e-4
    # the epoch's loss (averaged over ranks) is the one-process loss on the global batch
    assert h1[0]["train_loss"] == pytest.approx(h2[0]["train_loss"], rel=1e-9)
    assert last1["reconstruction"] > 0  # L_R was part of the step
