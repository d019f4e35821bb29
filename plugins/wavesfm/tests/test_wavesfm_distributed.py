"""Data-parallel pre-training through zoo_core.train.fit: 2 CPU ranks (gloo, torchrun) give the
same gradients as 1 process on the same global batch."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("_wavesfm_ddp_worker.py")


def _run(cmd, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(WORKER.parent)}
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_match_one_process_on_the_global_batch(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    _run([sys.executable, str(WORKER), str(one), "8"], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
          str(WORKER), str(two), "4"], tmp_path)
    g1 = torch.load(one, weights_only=True)
    g2 = torch.load(two, weights_only=True)
    assert g1.keys() == g2.keys()
    assert any(v.abs().sum() > 0 for v in g1.values())
    for k in g1:
        assert torch.allclose(g1[k], g2[k], atol=1e-6, rtol=1e-4), k
