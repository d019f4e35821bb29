"""Contrastive losses (CLIP's InfoNCE and SigLIP's sigmoid) that know their rank.

Both follow open_clip's conventions: features arrive L2-normalised, `logit_scale` is the
already-exponentiated temperature, and under data parallelism each rank scores its own
rows against every rank's columns, so that the mean of the per-rank losses (and, after
DDP averages them, the gradients) equal one process on the whole global batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .distributed import DistContext
from .errors import WzooError

__all__ = [
    "ClipLoss",
    "LossInputError",
    "SigLipLoss",
    "clip_default_logit_scale",
    "siglip_default_bias",
]


class LossInputError(WzooError, ValueError):
    """Features a contrastive loss cannot pair up (wrong rank, shapes or an empty batch)."""


def clip_default_logit_scale() -> float:
    """CLIP's initial log-scale, log(1/0.07): a temperature of 0.07 once exponentiated."""
    return math.log(1 / 0.07)


def siglip_default_bias() -> float:
    """SigLIP's initial logit bias: starts every pair near "negative", as most pairs are."""
    return -10.0


def _check_pair(features_a: Tensor, features_b: Tensor) -> int:
    for name, f in (("features_a", features_a), ("features_b", features_b)):
        if f.dim() != 2:
            raise LossInputError(
                f"{name} has shape {tuple(f.shape)}; pass 2-D (batch, dim) features, "
                "e.g. flatten or pool them first"
            )
    if features_a.shape != features_b.shape:
        raise LossInputError(
            f"features_a {tuple(features_a.shape)} and features_b {tuple(features_b.shape)} "
            "differ; both towers must give one (batch, dim) row per pair"
        )
    if features_a.shape[0] == 0:
        raise LossInputError("empty batch: a contrastive loss needs at least one pair per rank")
    return features_a.shape[0]


def _check_gathered(gathered: Tensor, batch: int, dist: DistContext) -> None:
    if gathered.shape[0] != batch * dist.world_size:
        raise LossInputError(
            f"gathered {gathered.shape[0]} rows from {dist.world_size} ranks of {batch}; "
            "every rank must hold the same batch size (drop the last uneven batch)"
        )


class ClipLoss(nn.Module):
    """Symmetric InfoNCE: the mean of a→b and b→a cross-entropy over the pair logits.

    `local_loss=True` scores this rank's rows against all gathered columns (labels offset
    by rank * batch), which is cheaper than the full gathered matrix. Together with
    `gather_with_grad=True` the DDP-averaged gradients are exactly those of one process
    on the global batch; other combinations give the same loss value but not that.
    """

    def __init__(self, local_loss: bool = True, gather_with_grad: bool = True):
        super().__init__()
        self.local_loss = local_loss
        self.gather_with_grad = gather_with_grad

    def forward(
        self,
        features_a: Tensor,
        features_b: Tensor,
        logit_scale: Tensor | float,
        logit_bias: Tensor | float | None = None,
        dist: DistContext | None = None,
    ) -> Tensor:
        batch = _check_pair(features_a, features_b)
        dist = dist if dist is not None else DistContext.current()

        if dist.world_size == 1:
            rows_a, rows_b, cols_a, cols_b = features_a, features_b, features_a, features_b
            labels = torch.arange(batch, device=features_a.device)
        else:
            all_a = dist.gather(features_a, with_grad=self.gather_with_grad)
            all_b = dist.gather(features_b, with_grad=self.gather_with_grad)
            _check_gathered(all_a, batch, dist)
            cols_a, cols_b = all_a, all_b
            if self.local_loss:
                rows_a, rows_b = features_a, features_b
                labels = torch.arange(batch, device=features_a.device) + dist.rank * batch
            else:
                rows_a, rows_b = all_a, all_b
                labels = torch.arange(all_a.shape[0], device=features_a.device)

        logits_ab = logit_scale * rows_a @ cols_b.T
        logits_ba = logit_scale * rows_b @ cols_a.T
        if logit_bias is not None:
            logits_ab = logits_ab + logit_bias
            logits_ba = logits_ba + logit_bias
        return (F.cross_entropy(logits_ab, labels) + F.cross_entropy(logits_ba, labels)) / 2


class SigLipLoss(nn.Module):
    """SigLIP's pairwise sigmoid loss: −Σ log σ(y·(s·a·b + bias)) / local batch.

    y is +1 for the matching pair and −1 for every other one. Across ranks this rank's
    rows meet every rank's columns (gathered with gradient), so the mean over ranks is
    the single-process loss on the global batch. `logit_bias=None` means no bias.
    """

    def forward(
        self,
        features_a: Tensor,
        features_b: Tensor,
        logit_scale: Tensor | float,
        logit_bias: Tensor | float | None,
        dist: DistContext | None = None,
    ) -> Tensor:
        batch = _check_pair(features_a, features_b)
        dist = dist if dist is not None else DistContext.current()

        cols_b = dist.gather(features_b, with_grad=True)
        _check_gathered(cols_b, batch, dist)
        logits = logit_scale * features_a @ cols_b.T
        if logit_bias is not None:
            logits = logits + logit_bias

        signs = -torch.ones_like(logits)
        rows = torch.arange(batch, device=logits.device)
        signs[rows, rows + dist.rank * batch] = 1.0
        return -F.logsigmoid(signs * logits).sum() / batch
