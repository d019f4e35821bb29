"""Data-parallel pre-training through zoo_core.train.fit: 2 CPU ranks (gloo, torchrun) give the
same gradients as 1 process on the same global batch."""

from pathlib import Path

import torch

from zoo_core.testing.processes import run_python

WORKER = Path(__file__).with_name("_wavesfm_ddp_worker.py")


def test_two_gloo_ranks_match_one_process_on_the_global_batch(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    run_python(WORKER, [one, "8"], cwd=tmp_path, pythonpath=[WORKER.parent])
    run_python(WORKER, [two, "4"], cwd=tmp_path, pythonpath=[WORKER.parent], nproc=2)
    g1 = torch.load(one, weights_only=True)
    g2 = torch.load(two, weights_only=True)
    assert g1.keys() == g2.keys()
    assert any(v.abs().sum() > 0 for v in g1.values())
    for k in g1:
        assert torch.allclose(g1[k], g2[k], atol=1e-6, rtol=1e-4), k
