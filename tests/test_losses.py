"""Contrastive losses: against hand-written numpy references, and across two real ranks."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from zoo_core.distributed import DistContext, DistContextError
from zoo_core.errors import WzooError
from zoo_core.testing.processes import run_python
from zoo_core.losses import (
    ClipLoss,
    LossInputError,
    SigLipLoss,
    clip_default_logit_scale,
    siglip_default_bias,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "_losses_ddp_worker.py"


# --- independent numpy references (float64) -------------------------------------------


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


def np_infonce(a, b, scale, bias=None) -> float:
    logits = scale * (a @ b.T)
    if bias is not None:
        logits = logits + bias
    diag = np.diag(logits)
    a_to_b = np.mean(_logsumexp_rows(logits) - diag)
    b_to_a = np.mean(_logsumexp_rows(logits.T) - diag)
    return float((a_to_b + b_to_a) / 2)


def np_sigmoid_loss(a, b, scale, bias) -> float:
    n = a.shape[0]
    y = 2 * np.eye(n) - 1
    z = y * (scale * (a @ b.T) + bias)
    neg_log_sigmoid = np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^-z), stably
    return float(neg_log_sigmoid.sum() / n)


def _features(seed: int, n: int = 7, d: int = 5):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return a, b


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


# --- (a), (b): single process vs numpy ------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, math.exp(clip_default_logit_scale()), 100.0])
@pytest.mark.parametrize("bias", [None, -1.3])
def test_clip_loss_matches_numpy_infonce(scale, bias):
    a, b = _features(0)
    got = ClipLoss()(_t(a), _t(b), _t(scale), None if bias is None else _t(bias))
    assert got.dim() == 0
    assert abs(got.item() - np_infonce(a, b, scale, bias)) < 1e-6


@pytest.mark.parametrize("scale", [1.0, 10.0, 37.5])
@pytest.mark.parametrize("bias", [siglip_default_bias(), 0.4])
def test_siglip_loss_matches_numpy_sigmoid_loss(scale, bias):
    a, b = _features(1)
    got = SigLipLoss()(_t(a), _t(b), _t(scale), _t(bias))
    assert got.dim() == 0
    assert abs(got.item() - np_sigmoid_loss(a, b, scale, bias)) < 1e-6


def test_siglip_without_bias_is_zero_bias():
    a, b = _features(2)
    got = SigLipLoss()(_t(a), _t(b), _t(5.0), None)
    assert abs(got.item() - np_sigmoid_loss(a, b, 5.0, 0.0)) < 1e-6


def test_defaults():
    assert siglip_default_bias() == -10.0
    assert clip_default_logit_scale() == pytest.approx(math.log(1 / 0.07))
    assert math.exp(clip_default_logit_scale()) == pytest.approx(1 / 0.07)


# --- rank bookkeeping without a process group -----------------------------------------


@dataclasses.dataclass(frozen=True)
class _PretendRank(DistContext):
    """A rank whose 'gather' hands back the known global batch: checks the label offsets."""

    global_a: torch.Tensor | None = None
    global_b: torch.Tensor | None = None

    def gather(self, tensor, with_grad=False):
        n = tensor.shape[0]
        mine = slice(self.rank * n, (self.rank + 1) * n)
        for full in (self.global_a, self.global_b):
            if torch.equal(full[mine], tensor):
                return full
        raise AssertionError("gathered a tensor that is not this rank's slice")


@pytest.mark.parametrize("world", [2, 4])
def test_mean_of_rank_losses_is_the_global_loss(world):
    a, b = _features(3, n=8)
    ta, tb = _t(a), _t(b)
    n = 8 // world
    scale, bias = 12.0, -3.0
    for loss, ref in (
        (ClipLoss(local_loss=True), np_infonce(a, b, scale)),
        (ClipLoss(local_loss=False), np_infonce(a, b, scale)),
        (SigLipLoss(), np_sigmoid_loss(a, b, scale, bias)),
    ):
        per_rank = []
        for r in range(world):
            ctx = _PretendRank(rank=r, world_size=world, global_a=ta, global_b=tb)
            rows = slice(r * n, (r + 1) * n)
            use_bias = _t(bias) if isinstance(loss, SigLipLoss) else None
            per_rank.append(loss(ta[rows], tb[rows], _t(scale), use_bias, dist=ctx).item())
        assert abs(np.mean(per_rank) - ref) < 1e-6, type(loss).__name__


def test_single_process_context():
    ctx = DistContext()
    x = torch.randn(3, 2)
    assert ctx.gather(x) is x and ctx.gather(x, with_grad=True) is x
    assert ctx.reduce_mean(2.5) == 2.5
    if not (dist.is_available() and dist.is_initialized()):
        assert DistContext.current() == DistContext(0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.rank = 1


def test_bad_context_is_a_typed_error():
    for rank, world in ((0, 0), (2, 2), (-1, 3)):
        with pytest.raises(DistContextError):
            DistContext(rank, world)
    if not (dist.is_available() and dist.is_initialized()):
        with pytest.raises(DistContextError, match="torchrun"):
            DistContext(0, 2).gather(torch.zeros(1, 1))


# --- (c) typed input errors -----------------------------------------------------------


@pytest.mark.parametrize(
    "shape_a, shape_b, words",
    [
        ((4,), (4,), "2-D"),
        ((2, 3, 4), (2, 3, 4), "2-D"),
        ((4, 3), (5, 3), "differ"),
        ((4, 3), (4, 2), "differ"),
        ((0, 3), (0, 3), "empty batch"),
    ],
)
@pytest.mark.parametrize("loss", [ClipLoss(), SigLipLoss()], ids=["clip", "siglip"])
def test_bad_inputs_raise_typed_one_line_errors(loss, shape_a, shape_b, words):
    with pytest.raises(LossInputError, match=words) as info:
        loss(torch.zeros(shape_a), torch.zeros(shape_b), torch.tensor(1.0), torch.tensor(0.0))
    assert isinstance(info.value, WzooError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


# --- (d) two real processes vs one ----------------------------------------------------


def _load_worker():
    spec = importlib.util.spec_from_file_location("_losses_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory):
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("torch.distributed with the gloo backend is not available in this torch build")
    out = tmp_path_factory.mktemp("ddp") / "ranks.npz"
    run_python(WORKER, [out], cwd=REPO, pythonpath=[REPO], nproc=2, timeout=120)
    with np.load(out) as f:
        return dict(f)


@pytest.mark.parametrize("name", ["clip", "siglip"])
def test_two_ranks_equal_one_process(two_rank_results, name):
    worker = _load_worker()
    _, _, _, x_a, x_b = worker.build()
    loss_fn = ClipLoss(local_loss=True, gather_with_grad=True) if name == "clip" else SigLipLoss()
    loss, grads = worker.step(name, loss_fn, x_a, x_b, DistContext())

    assert abs(two_rank_results[f"{name}/loss"].item() - loss.item()) < 1e-6
    got = {k.split("/grad/", 1)[1]: v for k, v in two_rank_results.items() if k.startswith(f"{name}/grad/")}
    assert sorted(got) == sorted(grads)
    for k, ref in grads.items():
        assert ref.abs().sum() > 0 or (name == "clip" and k == "bias"), f"{k}: no gradient to compare"
        np.testing.assert_allclose(got[k], ref.numpy(), rtol=0, atol=1e-6, err_msg=f"{name} grad {k}")


def test_every_clip_mode_reports_the_global_loss(two_rank_results):
    worker = _load_worker()
    _, _, _, x_a, x_b = worker.build()
    loss, _ = worker.step("clip", ClipLoss(), x_a, x_b, DistContext())
    for mode in ("11", "10", "01", "00"):
        assert abs(two_rank_results[f"clip_modes/{mode}"].item() - loss.item()) < 1e-6, mode
