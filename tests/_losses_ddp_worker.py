"""Worker for test_losses: one data-parallel step of each loss, run under torchrun.

Each rank takes its half of a fixed global batch, computes the loss through the rank-aware
path, backpropagates and averages gradients as DDP would; rank 0 saves loss and gradients
to the .npz named on the command line. `build` is shared with the single-process
reference in the test so both start from the very same weights and data.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

GLOBAL_BATCH, IN_DIM, OUT_DIM = 8, 6, 4


def build():
    """Two seeded float64 towers, a shared log-scale and bias, and the global batch."""
    torch.manual_seed(0)
    tower_a = nn.Linear(IN_DIM, OUT_DIM).double()
    tower_b = nn.Linear(IN_DIM, OUT_DIM).double()
    log_scale = nn.Parameter(torch.tensor(1.7, dtype=torch.float64))  # non-trivial, != 1
    bias = nn.Parameter(torch.tensor(-2.5, dtype=torch.float64))
    g = torch.Generator().manual_seed(1)
    x_a = torch.randn(GLOBAL_BATCH, IN_DIM, generator=g, dtype=torch.float64)
    x_b = torch.randn(GLOBAL_BATCH, IN_DIM, generator=g, dtype=torch.float64)
    params = {
        **{f"a.{k}": p for k, p in tower_a.named_parameters()},
        **{f"b.{k}": p for k, p in tower_b.named_parameters()},
        "log_scale": log_scale,
        "bias": bias,
    }
    return tower_a, tower_b, params, x_a, x_b


def step(loss_name, loss_fn, x_a, x_b, dist_ctx=None):
    """One forward/backward; returns (loss value, {param name: grad}) before any averaging."""
    tower_a, tower_b, params, _, _ = build()
    fa = nn.functional.normalize(tower_a(x_a), dim=-1)
    fb = nn.functional.normalize(tower_b(x_b), dim=-1)
    bias = params["bias"] if loss_name == "siglip" else None
    loss = loss_fn(fa, fb, params["log_scale"].exp(), bias, dist=dist_ctx)
    loss.backward()
    grads = {k: (p.grad if p.grad is not None else torch.zeros_like(p)) for k, p in params.items()}
    return loss, grads


def main(out_path: str) -> None:
    from zoo_core.distributed import DistContext
    from zoo_core.losses import ClipLoss, SigLipLoss

    dist.init_process_group("gloo")
    ctx = DistContext.current()
    assert ctx.world_size == 2, ctx
    local = GLOBAL_BATCH // ctx.world_size
    _, _, _, x_a, x_b = build()
    mine = slice(ctx.rank * local, (ctx.rank + 1) * local)

    results: dict[str, np.ndarray] = {}
    for name, fn in (("clip", ClipLoss(local_loss=True, gather_with_grad=True)), ("siglip", SigLipLoss())):
        loss, grads = step(name, fn, x_a[mine], x_b[mine], ctx)
        results[f"{name}/loss"] = np.array(ctx.reduce_mean(loss.item()))
        for k, grad in grads.items():
            grad = grad.clone()
            dist.all_reduce(grad)  # what DDP does: sum, then divide by the world size
            results[f"{name}/grad/{k}"] = (grad / ctx.world_size).numpy()

    # every other ClipLoss mode must still report the global loss value
    for local_loss in (True, False):
        for with_grad in (True, False):
            loss, _ = step("clip", ClipLoss(local_loss, with_grad), x_a[mine], x_b[mine], ctx)
            results[f"clip_modes/{int(local_loss)}{int(with_grad)}"] = np.array(ctx.reduce_mean(loss.item()))

    if ctx.rank == 0:
        np.savez(out_path, **results)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
