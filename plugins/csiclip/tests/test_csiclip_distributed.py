"""The pre-training loop under torchrun (2 CPU ranks, gloo): the plateau schedule and early
stopping decide the same epoch on every rank, and the ranks end with identical weights."""

from pathlib import Path

from safetensors.torch import load_file

from zoo_core.testing.processes import run_python

WORKER = Path(__file__).with_name("_csiclip_ddp_worker.py")


def test_pretraining_loop_under_two_ranks(tmp_path):
    proc = run_python(WORKER, [tmp_path / "two.safetensors"], cwd=tmp_path, nproc=2, timeout=300)
    line = [l for l in proc.stdout.splitlines() if l.startswith("world")][-1]
    assert line.startswith("world 2 ") and line.endswith("ranks_agree True"), line
    state = load_file(str(tmp_path / "two.safetensors"))
    assert "heads.retrieval.logit_scale" in state
