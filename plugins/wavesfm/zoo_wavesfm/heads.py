"""WavesFM task heads: the linear heads are the core's `linear`; channel estimation uses one
ViT block on the patch tokens (paper Sec. IV-C), then a per-patch projection back to the
channel grid."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo_core import TaskHead

from .vit import Block


class ViTBlockHead(TaskHead):
    """One transformer block on the encoder's patch tokens → (B, out_chans, *out_size).

    Each token is projected to a patch_size x patch_size x out_chans patch; the patches are
    reassembled on the encoder's grid and, if `out_size` differs, resized (bilinear) back to
    the channel grid (e.g. antennas x subcarriers)."""

    uses = "tokens"

    def __init__(self, in_features: int, grid_size: Sequence[int], patch_size: int, out_chans: int = 2,
                 num_heads: int = 8, mlp_dim: int | None = None, out_size: Sequence[int] | None = None,
                 task: str | None = None):
        super().__init__(task)
        self.grid_size = tuple(int(g) for g in grid_size)
        self.patch_size, self.out_chans = int(patch_size), int(out_chans)
        self.out_size = tuple(int(s) for s in out_size) if out_size else None
        self.block = Block(in_features, num_heads, mlp_dim or 4 * in_features)
        self.norm = nn.LayerNorm(in_features, eps=1e-6)
        self.proj = nn.Linear(in_features, self.patch_size ** 2 * self.out_chans)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        from .mae import unpatchify

        x = self.proj(self.norm(self.block(tokens)))[:, 1:]  # drop the CLS token
        img = unpatchify(x, self.patch_size, self.out_chans, self.grid_size)
        if self.out_size and tuple(img.shape[-2:]) != self.out_size:
            img = F.interpolate(img, size=self.out_size, mode="bilinear", align_corners=False)
        return img
